"""The report's words in Chinese (default, as the seed report) and English, and number formats.

`TEXT` is the one table of every string the report shows, page words, plot captions, reasons a
plot was skipped (`skip.`) and the conclusions (`finding.`), each as (en, zh); `tr` is the one
lookup. Placeholders are filled with numbers already formatted by the functions below, which are
language-independent, so the zh and en reports carry the same numbers character for character;
only the words around them differ.
"""

from __future__ import annotations

LANGS = ("zh", "en")  # the first is the default
_COLUMN = {"en": 0, "zh": 1}  # position of each language in a TEXT entry

TEXT: dict[str, tuple[str, str]] = {
    "html_lang": ("en", "zh-CN"),  # the <html lang> tag
    "title": ("Knowledge distillation report", "知识蒸馏报告"),
    "generated": ("Generated", "生成时间"),
    "run_id": ("Run", "运行目录"),
    "data": ("Data", "数据"),
    "data_value": ("{name}: {rows} rows, {features} features, {classes} classes (split {split})",
                   "{name}：{rows} 行，{features} 个特征，{classes} 个类别（划分 {split}）"),
    "teacher_model": ("Teacher model", "教师模型"),
    "student_model": ("Student model", "学生模型"),
    "baseline_model": ("No-KD baseline", "无蒸馏基线"),
    "teacher_name": ("MLP {arch} ({bn}ReLU)", "MLP {arch}（{bn}ReLU）"),
    "student_name": ("gated low-rank student {arch} ({rank} factors)",
                     "门控低秩学生模型 {arch}（{rank} 个因子）"),
    "baseline_name": ("same architecture as the student, trained without KD",
                      "与学生模型结构相同，不使用蒸馏训练"),
    "kd_settings": ("KD settings", "蒸馏设置"),
    "kd_value": ("temperature T = {t}, alpha (hard-label weight) = {a}",
                 "温度 T = {t}，alpha（硬标签权重）= {a}"),
    # sections
    "s_features": ("Feature selection", "特征选择"),
    "s_performance": ("Model performance", "模型性能"),
    "s_structure": ("Student structure", "学生模型结构"),
    "s_dataviews": ("Data views", "数据可视化"),
    "s_compression": ("Compression", "模型压缩"),
    "s_export": ("ONNX export", "ONNX 导出"),
    "s_bench": ("On-device benchmark", "设备端基准测试"),
    "s_conclusions": ("Conclusions", "结论"),
    # feature selection
    "selected": ("Selected features: {k} / {n} ({pct})", "选择的特征：{k} / {n}（{pct}）"),
    "importance_method": ("Importance: {method}", "重要性计算方法：{method}"),
    "h_rank": ("Rank", "排名"), "h_feature": ("Feature", "特征"),
    "h_importance": ("Importance", "重要性"), "h_std": ("Std", "标准差"),
    "h_selected": ("Selected", "是否选择"), "yes": ("yes", "是"), "no": ("no", "否"),
    # performance
    "h_metric": ("Metric", "指标"), "h_teacher": ("Teacher", "教师模型"),
    "h_student": ("Student (KD)", "学生模型（蒸馏）"), "h_no_kd": ("Student (no KD)", "学生模型（无蒸馏）"),
    "h_diff": ("Student − teacher", "学生 − 教师"),
    "kd_gain": ("KD gain (accuracy of KD student − no-KD student): {gain}",
                "蒸馏增益（蒸馏学生准确率 − 无蒸馏学生准确率）：{gain}"),
    "consistency": ("Prediction consistency", "预测一致性"),
    "agreement": ("Agreement (teacher vs student, test split)", "一致率（教师 vs 学生，测试集）"),
    "disagreement": ("Disagreement rate", "不一致率"),
    "agreement_no_kd": ("Agreement (teacher vs no-KD student)", "一致率（教师 vs 无蒸馏学生）"),
    # compression
    "summary": ("Summary", "摘要"), "details": ("Details", "详细对比"),
    "sum_params": ("Parameters: {t} → {s} ({chg}, {ratio} smaller)",
                   "参数量：{t} → {s}（{chg}，缩小 {ratio}）"),
    "sum_compute": ("Compute per sample: {t} → {s} MACs ({chg}); FLOPs = 2 × MACs: {tf} → {sf}",
                    "单样本计算量：{t} → {s} MACs（{chg}）；FLOPs = 2 × MACs：{tf} → {sf}"),
    "sum_memory": ("Memory (measured peak RSS on {target}): {t} → {s} MB",
                   "内存（{target} 上实测峰值 RSS）：{t} → {s} MB"),
    "sum_memory_missing": ("Memory: not measured (peak RSS comes from the bench: run `{cmd}`); "
                           "weight bytes: {t} → {s}",
                           "内存：未测量（峰值 RSS 来自基准测试：运行 `{cmd}`）；权重字节数：{t} → {s}"),
    "h_quantity": ("Quantity", "项目"), "h_change": ("Change rate", "变化率"),
    "h_ratio": ("Teacher / student", "教师 / 学生"),
    "q_params": ("Parameters", "参数量"), "q_macs": ("MACs per sample", "单样本 MACs"),
    "q_flops": ("FLOPs per sample (2 × MACs)", "单样本 FLOPs（2 × MACs）"),
    "q_weight_bytes": ("Weight bytes (float32)", "权重字节数（float32）"),
    "q_onnx_bytes": ("ONNX file bytes", "ONNX 文件字节数"),
    "q_peak": ("Peak RSS, MB ({target}, measured)", "峰值 RSS，MB（{target}，实测）"),
    "q_increase": ("RSS increase over bare onnxruntime, MB ({target})",
                   "相对空 onnxruntime 进程的 RSS 增量，MB（{target}）"),
    "q_input_dim": ("Input dimension", "输入维度"),
    "q_usage": ("Feature usage", "特征使用率"),
    "feature_usage": ("Feature usage", "特征使用情况"),
    "h_model": ("Model", "模型"), "h_features_used": ("Features used", "使用特征数"),
    "h_usage": ("Usage", "使用率"), "h_input_dim": ("Input dimension", "输入维度"),
    # export
    "h_variant": ("Variant", "变体"),
    "h_file_bytes": ("File bytes", "文件字节数"), "h_parity": ("Parity (max |Δ|)", "一致性校验（最大 |Δ|）"),
    "h_accuracy": ("Accuracy", "准确率"), "h_agree_teacher": ("Agreement with teacher", "与教师一致率"),
    "h_agree_fp32": ("Agreement with fp32 student", "与 fp32 学生一致率"),
    "h_verdict": ("Verdict", "结论"), "h_reason": ("Reason", "原因"),
    "accepted": ("accepted", "接受"), "rejected": ("rejected", "拒绝"),
    "passed": ("passed", "通过"), "failed": ("FAILED", "未通过"),
    "export_opset": ("ONNX opset {opset}; files under onnx/ of the run directory.",
                     "ONNX opset {opset}；文件位于运行目录的 onnx/ 下。"),
    "missing_stage": ("Not available: this run has no {what}. Run `{cmd}` to produce it.",
                      "暂无：此运行目录还没有 {what}。运行 `{cmd}` 生成。"),
    "what_export": ("export.json (ONNX export)", "export.json（ONNX 导出）"),
    "what_bench": ("bench/*.json (benchmark)", "bench/*.json（基准测试）"),
    "plot_needs_bench": ("This plot needs bench results: run `{cmd}`.",
                         "此图需要基准测试结果：运行 `{cmd}`。"),
    "plot_skipped": ("Not drawn — {plot}: {reason}.", "未绘制“{plot}”：{reason}。"),
    # bench
    "machines": ("Targets", "测试目标"), "h_target": ("Target", "目标"), "h_arch": ("Arch", "架构"),
    "h_cpu": ("CPU", "CPU"), "h_cores": ("Cores", "核数"), "h_ort": ("onnxruntime", "onnxruntime"),
    "h_emulated": ("Emulated", "是否模拟"),
    "emulated_mark": ("{target} (emulated, not a performance figure)", "{target}（模拟运行，非性能数据）"),
    "emulated_note": ("Emulated targets run under qemu: their timings measure the translator, not "
                      "the CPU, and are not performance figures.",
                      "模拟目标在 qemu 下运行：其计时反映的是指令翻译器而非 CPU，不是性能数据。"),
    "latency_at": ("Latency at batch {batch}: p50 / p99 µs (ratio of p50 to the floor)",
                   "批大小 {batch} 的延迟：p50 / p99 µs（p50 与空调用下限之比）"),
    "floor_row": ("floor (empty call)", "下限（空调用）"),
    "throughput_at": ("Throughput at batch {batch}, rows/s", "批大小 {batch} 的吞吐量，行/秒"),
    "cold_start": ("Cold start: session creation / first inference, ms",
                   "冷启动：会话创建 / 首次推理，毫秒"),
    "peak_memory": ("Peak memory (measured peak RSS of a fresh process), MB",
                    "峰值内存（新进程实测峰值 RSS），MB"),
    "macs_table": ("MACs per sample (counted from the ONNX graph)", "单样本 MACs（由 ONNX 图统计）"),
    "error_cell": ("error", "错误"),
    "stale_note": ("†: the bench on {target} measured files whose sha256 differs from what "
                   "`kdedge export` recorded in run.json ({models}); those cells may not describe "
                   "the exported models, and no speed conclusion is drawn from them.",
                   "†：{target} 上的基准测试所测文件的 sha256 与 `kdedge export` 在 run.json 中记录的"
                   "不同（{models}）；这些单元格可能不代表已导出的模型，也不据此得出速度结论。"),
    "quick_note": ("{target} was measured with --quick: repetitions too few for reliable numbers.",
                   "{target} 使用 --quick 测量：重复次数太少，数据不可靠。"),
    # plot captions (`caption.<plot>`)
    "caption.correlation_matrix": ("Correlation matrix of all features", "全部特征的相关矩阵"),
    "caption.feature_importance": ("Feature importance (teacher, permutation)",
                                   "特征重要性（教师模型，置换法）"),
    "caption.importance_distribution": ("Distribution of importance scores", "重要性分数分布"),
    "caption.feature_distributions": ("Selected features by class", "按类别的所选特征分布"),
    "caption.precision_recall": ("Precision–recall curves, teacher vs student",
                                 "精确率–召回率曲线：教师 vs 学生"),
    "caption.prediction_comparison": ("Teacher vs student predictions", "教师与学生预测对比"),
    "caption.decision_boundary_teacher": (
        "Decision boundary of the teacher over the top-2 selected features",
        "教师模型在前 2 个所选特征上的决策边界"),
    "caption.decision_boundary_student": (
        "Decision boundary of the student over the top-2 selected features",
        "学生模型在前 2 个所选特征上的决策边界"),
    "caption.factor_feature_heatmap": ("Student factor weights × gates against the selected features",
                                       "学生模型因子权重 × 门控 与所选特征的热力图"),
    "caption.factor_gates": ("Student factor gates sigmoid(g)", "学生模型因子门控 sigmoid(g)"),
    "caption.pca_scatter": ("PCA scatter of the test split", "测试集 PCA 散点图"),
    "caption.pca_variance": ("PCA explained variance", "PCA 解释方差"),
    "caption.tsne": ("t-SNE of the test split", "测试集 t-SNE"),
    "caption.latency_distribution": ("Latency distribution at batch 1", "批大小 1 的延迟分布"),
    "caption.accuracy_vs_cost": ("Accuracy against cost (params, MACs, latency)",
                                 "准确率与成本（参数量、MACs、延迟）"),
    # why a plot was not drawn (`skip.<figure.PlotSkipped.reason>`)
    "skip.too_few_test_rows": ("the test split has only {n} rows, fewer than the {min} it needs",
                               "测试集只有 {n} 行，少于所需的 {min} 行"),
    "skip.too_few_val_test_rows": ("the validation and test splits have only {n} rows together, "
                                   "fewer than the {min} it needs",
                                   "验证集与测试集合计只有 {n} 行，少于所需的 {min} 行"),
    "skip.pca_components": ("PCA of these rows has {c} component(s); a 2-D view needs 2",
                            "这些样本的 PCA 只有 {c} 个主成分；二维视图需要 2 个"),
    "skip.class_absent": ("class {classes} is absent from the test split, so its precision–recall "
                          "curve is undefined",
                          "测试集中没有类别 {classes} 的样本，其精确率–召回率曲线无定义"),
    "skip.one_feature": ("the data has one feature; a decision boundary needs two",
                         "数据只有 1 个特征；决策边界需要 2 个"),
    "skip.needs_export": ("it is drawn through the exported ONNX graph, which this run does not have "
                          "yet: run `{cmd}`",
                          "此图通过导出的 ONNX 计算图绘制，而此运行目录尚未导出：运行 `{cmd}`"),
    # conclusions (`finding.`); {q} is a noise_within/noise_beyond clause, {d} in acc_drop* a
    # magnitude (the words say "below"), {limit} the threshold the comparison used
    "finding.noise_within": ("within the noise of a {n}-row test split (±{x})",
                             "在 {n} 行测试集的噪声范围（±{x}）之内"),
    "finding.noise_beyond": ("beyond the noise of a {n}-row test split (±{x})",
                             "超出 {n} 行测试集的噪声范围（±{x}）"),
    "finding.acc_drop": ("The student's accuracy ({s}) is {d} below the teacher's ({t}): more than "
                         "{limit} lost, {q}.",
                         "学生模型准确率（{s}）比教师模型（{t}）低 {d}：损失超过 {limit}，{q}。"),
    "finding.acc_drop_noise": ("The student's accuracy ({s}) is {d} below the teacher's ({t}): more "
                               "than the {limit} threshold, but {q}: no evidence that the student "
                               "lost accuracy.",
                               "学生模型准确率（{s}）比教师模型（{t}）低 {d}：超过 {limit} 的阈值，但{q}："
                               "没有证据表明学生模型损失了准确率。"),
    "finding.acc_close": ("The student's accuracy ({s}) is within {limit} of the teacher's ({t}) "
                          "({d}), {q}.",
                          "学生模型准确率（{s}）与教师模型（{t}）相差在 {limit} 以内（{d}），{q}。"),
    "finding.acc_better": ("The student's accuracy ({s}) matches or exceeds the teacher's ({t}) "
                           "({d}), {q}.",
                           "学生模型准确率（{s}）达到或超过教师模型（{t}）（{d}），{q}。"),
    "finding.kd_worse": ("KD made the student worse: accuracy {kd} with KD vs {nokd} without ({g}), "
                         "{q}.",
                         "蒸馏使学生模型变差：蒸馏准确率 {kd}，无蒸馏 {nokd}（{g}），{q}。"),
    "finding.kd_same": ("KD made no difference to accuracy: {kd} with and without KD.",
                        "蒸馏对准确率没有影响：有无蒸馏均为 {kd}。"),
    "finding.kd_noise": ("KD vs no-KD: {kd} vs {nokd} ({g}), {q}: no evidence KD helped or hurt.",
                         "蒸馏 vs 无蒸馏：{kd} 对 {nokd}（{g}），{q}：没有证据表明蒸馏有益或有害。"),
    "finding.kd_better": ("KD improved the student: accuracy {kd} with KD vs {nokd} without ({g}), "
                          "{q}.",
                          "蒸馏提升了学生模型：蒸馏准确率 {kd}，无蒸馏 {nokd}（{g}），{q}。"),
    "finding.agree_low": ("Agreement with the teacher is {a}, below {limit}: the student predicts a "
                          "different class on {d} of test rows.",
                          "与教师模型的一致率为 {a}，低于 {limit}：学生模型在 {d} 的测试样本上预测了"
                          "不同类别。"),
    "finding.agree_ok": ("Agreement with the teacher is {a} (at least {limit}).",
                         "与教师模型的一致率为 {a}（不低于 {limit}）。"),
    "finding.compressed": ("The student reads {k} of {n} features and has {pr} fewer parameters "
                           "({pt} → {ps}) and {mr} fewer MACs ({mt} → {ms}).",
                           "学生模型使用 {n} 个特征中的 {k} 个，参数量减少 {pr}（{pt} → {ps}），"
                           "MACs 减少 {mr}（{mt} → {ms}）。"),
    "finding.parity_failed": ("ONNX parity FAILED for {m}: the exported graph does not reproduce "
                              "PyTorch.",
                              "{m} 的 ONNX 一致性校验未通过：导出的计算图与 PyTorch 结果不一致。"),
    "finding.variant_rejected": ("{m} was rejected (accuracy more than {limit} below the fp32 "
                                 "student's): {r}.",
                                 "{m} 被拒绝（准确率比 fp32 学生模型低超过 {limit}）：{r}。"),
    "finding.variant_accepted": ("{m} was accepted (accuracy at most {limit} below the fp32 "
                                 "student's): accuracy {a}, agreement with the fp32 student {g}.",
                                 "{m} 被接受（准确率比 fp32 学生模型低不超过 {limit}）：准确率 {a}，"
                                 "与 fp32 学生一致率 {g}。"),
    "finding.variant_slower": ("On {target}, {m} is slower than the fp32 student at batch 1 "
                               "(p50 {v} µs vs {f} µs).",
                               "在 {target} 上，批大小 1 时 {m} 比 fp32 学生模型更慢"
                               "（p50 {v} µs 对 {f} µs）。"),
    "finding.variant_faster": ("On {target}, {m} is faster than the fp32 student at batch 1 "
                               "(p50 {v} µs vs {f} µs).",
                               "在 {target} 上，批大小 1 时 {m} 比 fp32 学生模型更快"
                               "（p50 {v} µs 对 {f} µs）。"),
    "finding.overhead": ("On {target}, the student's batch-1 latency (p50 {p} µs) is {r}× the floor "
                         "of an empty call, below {limit}×: call overhead dominates, not the "
                         "model's arithmetic.",
                         "在 {target} 上，学生模型批大小 1 的延迟（p50 {p} µs）是空调用下限的 {r} 倍，"
                         "低于 {limit} 倍：主要是调用开销，而非模型计算。"),
    "finding.compute_visible": ("On {target}, the student's batch-1 latency (p50 {p} µs) is {r}× "
                                "the floor of an empty call, at least {limit}×: the model's own "
                                "work is visible above the call overhead.",
                                "在 {target} 上，学生模型批大小 1 的延迟（p50 {p} µs）是空调用下限的 "
                                "{r} 倍，不低于 {limit} 倍：模型自身计算在调用开销之上可见。"),
    "finding.student_vs_teacher_speed": ("On {target}, the student is {r} faster than the teacher "
                                         "at batch 1 (p50 {s} µs vs {t} µs).",
                                         "在 {target} 上，批大小 1 时学生模型比教师模型快 {r}"
                                         "（p50 {s} µs 对 {t} µs）。"),
    "finding.student_slower_than_teacher": ("On {target}, the student is NOT faster than the "
                                            "teacher at batch 1 (p50 {s} µs vs {t} µs): at this "
                                            "size both are call-overhead bound.",
                                            "在 {target} 上，批大小 1 时学生模型并不比教师模型快"
                                            "（p50 {s} µs 对 {t} µs）：两者都受调用开销限制。"),
    "finding.throughput": ("On {target}, at batch {b} the student processes {s} rows/s against the "
                           "teacher's {t} ({r}).",
                           "在 {target} 上，批大小 {b} 时学生模型吞吐量为 {s} 行/秒，教师模型为 {t}"
                           "（{r}）。"),
    "finding.higher": ("{r}× higher", "{r}× 更高"),
    "finding.lower": ("{r}× lower", "{r}× 更低"),
    "finding.variant_bigger": ("{m}'s file ({v} bytes) is larger than the fp32 student's ({f} "
                               "bytes): for a model this small, quantization scales and extra "
                               "nodes outweigh the saved weight bytes.",
                               "{m} 的文件（{v} 字节）比 fp32 学生模型（{f} 字节）更大：模型如此之小时，"
                               "量化参数和额外节点超过了节省的权重字节。"),
    "finding.stale_bench": ("The bench on {target} measured files whose sha256 differs from what "
                            "`kdedge export` recorded in run.json ({models}) — an older export or "
                            "a file changed after export: its numbers for those models may not "
                            "describe the exported models, and no speed conclusion is drawn from "
                            "them; re-export or re-bench.",
                            "{target} 上的基准测试所测文件的 sha256 与 `kdedge export` 在 run.json 中"
                            "记录的不同（{models}）——可能是较早的导出，或导出后被改动的文件：这些模型"
                            "的数据可能不代表已导出的模型，也不据此得出速度结论；请重新导出或重新运行"
                            "基准测试。"),
    "finding.emulated": ("Timings on {target} are emulated (qemu): they are not performance figures.",
                         "{target} 上的计时为模拟运行（qemu）：不是性能数据。"),
    "finding.missing": ("Not yet measured: run `{cmd}` for the {what} section.",
                        "尚未测量：运行 `{cmd}` 以生成“{what}”部分。"),
    "finding.stage_export": ("ONNX export", "ONNX 导出"),
    "finding.stage_bench": ("benchmark", "基准测试"),
}


def tr(lang: str, key: str, **values) -> str:
    """The string `key` of TEXT in `lang`, with `values` (already formatted) filled in."""
    return TEXT[key][_COLUMN[lang]].format(**values)


def caption(lang: str, plot: str) -> str:
    """The caption of plot `plot`."""
    return tr(lang, f"caption.{plot}")


def skip_reason(lang: str, skipped) -> str:
    """Why the plot was not drawn, in `lang`; `skipped` is a `figure.PlotSkipped`."""
    return tr(lang, f"skip.{skipped.reason}", **skipped.values)


def fmt_metric(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def fmt_signed(value) -> str:
    return "—" if value is None else f"{value:+.4f}"


def fmt_pct(value, *, signed: bool = False) -> str:
    """A fraction as a percentage: 0.461538 → 46.15%."""
    if value is None:
        return "—"
    return f"{value * 100:+.2f}%" if signed else f"{value * 100:.2f}%"


def fmt_int(value) -> str:
    return "—" if value is None else f"{int(round(value)):,}"


def fmt_float(value, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def fmt_change(new, old) -> str:
    """Change rate (new − old) / old as a signed percentage."""
    if new is None or not old:
        return "—"
    return fmt_pct((new - old) / old, signed=True)


def fmt_ratio(old, new) -> str:
    """How many times smaller `new` is than `old`: 37506 / 258 → 145.4×."""
    if old is None or not new:
        return "—"
    return f"{old / new:,.1f}×"


def fmt_points(delta, *, signed: bool = True) -> str:
    """An accuracy difference in percentage points: -0.012 → -1.20 pt; unsigned → 1.20 pt (for
    sentences that say "below"/"above" themselves)."""
    return f"{delta * 100:+.2f} pt" if signed else f"{abs(delta) * 100:.2f} pt"
