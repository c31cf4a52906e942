"""The report's words in Chinese (default, as the seed report) and English, and number formats.

`TEXT` is the one table of every string the report shows, page words, plot captions, reasons a
plot was skipped (`skip.`) and the conclusions (`finding.`), each as (en, zh); `tr` is the one
lookup. The words of the size search, the GBDT teacher and the Pareto front are kept in
`text_search.py` and merged in. Placeholders are filled with numbers already formatted by the
functions below, which are language-independent, so the zh and en reports carry the same numbers
character for character; only the words around them differ.
"""

from __future__ import annotations

from kdedge.report.text_search import SEARCH_TEXT

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
    # how distill read the data (run.json's data_reading), after the data line
    "reading": ("Read", "读取方式"),
    "reading_value": ("{how}, {processes}; {split}", "{how}，{processes}；{split}"),
    "reading_memory": ("whole, in memory", "整表读入内存"),
    "reading_streamed": ("streamed from disk in record batches of {chunk} rows (shuffle buffer "
                         "{shuffle} rows; {sample} training rows held in memory for the baselines "
                         "and the search)",
                         "从磁盘分批流式读取，每批 {chunk} 行（打乱缓冲区 {shuffle} 行；内存中保留 "
                         "{sample} 行训练数据，供基线模型和规模搜索使用）"),
    "reading_one_process": ("one process", "单进程"),
    "reading_processes": ("trained on {n} processes ({how})", "在 {n} 个进程上训练（{how}）"),
    "split_memory": ("split: scikit-learn train_test_split, stratified, random_state = seed: the "
                     "test rows first, then the validation rows from the rest",
                     "划分：scikit-learn train_test_split 分层抽样，random_state = 随机种子；先分出"
                     "测试集，再从其余行中分出验证集"),
    "split_recorded": ("split: “{rule}”", "划分规则（英文原文）：“{rule}”"),
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
    "list_sep": ("; ", "；"),  # between the items of a list in a sentence
    "fonts_missing": ("The plots show names with characters no installed font has ({chars}): "
                      "they appear there as boxes. For Chinese, Japanese or Korean names install "
                      "a CJK font (Debian/Ubuntu: `apt-get install {package}`; elsewhere Noto "
                      "Sans CJK or WenQuanYi Zen Hei), then make the report again.",
                      "图中的名称含有任何已安装字体都没有的字符（{chars}），在图中显示为方框。中文、日文或"
                      "韩文名称需要安装 CJK 字体（Debian/Ubuntu：`apt-get install {package}`；其他系统："
                      "Noto Sans CJK 或文泉驿正黑），然后重新生成报告。"),
    # sections
    "s_features": ("Feature selection", "特征选择"),
    "s_performance": ("Model performance", "模型性能"),
    "s_structure": ("Student: size search and structure", "学生模型：规模搜索与结构"),
    "s_dataviews": ("Data views", "数据可视化"),
    "s_compression": ("Compression", "模型压缩"),
    "s_export": ("ONNX export", "ONNX 导出"),
    "s_bench": ("On-device benchmark", "设备端基准测试"),
    "s_verdicts": ("Class balance, baselines and paired verdicts", "类别分布、基线模型与配对检验"),
    "s_conclusions": ("Conclusions", "结论"),
    # feature selection
    "selected": ("Selected features: {k} / {n} ({pct})", "选择的特征：{k} / {n}（{pct}）"),
    "importance_method": ("Importance: {method}", "重要性计算方法：{method}"),
    "importance_permutation": ("permutation importance of the teacher on the validation split "
                               "(sklearn.inspection.permutation_importance), score = negative "
                               "multi-class Brier score, {repeats} repeats; the mean increase in "
                               "Brier score, clipped at 0 and divided by the largest",
                               "教师模型在验证集上的置换重要性（sklearn.inspection.permutation_importance），"
                               "评分 = 负的多类别 Brier 分数，重复 {repeats} 次；取 Brier 分数的平均增量，"
                               "截断于 0 后除以最大值"),
    "dropped_constant": ("{n} constant column(s) were dropped when the data was read (the same "
                         "value in every row: nothing to learn from), so they are not among the "
                         "{features} features ranked: {names}.",
                         "读取数据时删除了 {n} 个常数列（每行取值相同，没有可学习的信息），因此不在参与"
                         "排名的 {features} 个特征之中：{names}。"),
    "h_rank": ("Rank", "排名"), "h_feature": ("Feature", "特征"),
    "h_importance": ("Importance", "重要性"), "h_std": ("Std", "标准差"),
    "h_selected": ("Selected", "是否选择"), "yes": ("yes", "是"), "no": ("no", "否"),
    # performance
    "h_metric": ("Metric", "指标"), "h_teacher": ("Teacher", "教师模型"),
    "h_student": ("Student (KD)", "学生模型（蒸馏）"), "h_no_kd": ("Student (no KD)", "学生模型（无蒸馏）"),
    "h_diff": ("Student − teacher", "学生 − 教师"),
    # performance rows: every averaged figure says which average it is
    "r_accuracy": ("Accuracy", "准确率"),
    "r_balanced_accuracy": ("Balanced accuracy (macro recall)", "平衡准确率（宏平均召回率）"),
    "r_precision_weighted": ("Precision (weighted)", "精确率（加权平均）"),
    "r_recall_weighted": ("Recall (weighted, = accuracy)", "召回率（加权平均，= 准确率）"),
    "r_f1_weighted": ("F1 (weighted)", "F1（加权平均）"),
    "r_f1_macro": ("F1 (macro)", "F1（宏平均）"),
    "r_precision_positive": ("Precision (positive class {c})", "精确率（正类 {c}）"),
    "r_recall_positive": ("Recall (positive class {c})", "召回率（正类 {c}）"),
    "r_roc_auc_positive": ("ROC-AUC (positive class {c})", "ROC-AUC（正类 {c}）"),
    "r_pr_auc_positive": ("PR-AUC (positive class {c})", "PR-AUC（正类 {c}）"),
    "r_roc_auc_macro": ("ROC-AUC (macro one-vs-rest)", "ROC-AUC（宏平均，一对其余）"),
    "r_pr_auc_macro": ("PR-AUC (macro one-vs-rest)", "PR-AUC（宏平均，一对其余）"),
    "r_log_loss": ("Log loss", "对数损失"),
    "averages_note": ("Weighted: averaged over classes weighted by their test rows; macro: the "
                      "unweighted mean over classes (each class counts the same); positive class: "
                      "that class alone, one-vs-rest.",
                      "加权平均：按各类别测试样本数加权的类别平均；宏平均：各类别的不加权平均（每个类别同等"
                      "重要）；正类：仅该类别，一对其余。"),
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
    # the microcontroller-class deployment part (the C student, `kdedge export --c`)
    "c_title": ("Microcontroller-class deployment: the student as C", "微控制器级部署：C 语言学生模型"),
    "c_missing": ("No C student: this export ran without --c. Re-running the export with `{flags}` "
                  "keeps the same variants and adds c/kdedge.h and c/kdedge.c, the student as "
                  "dependency-free C99 checked against onnxruntime on the test split (it needs "
                  "gcc).",
                  "没有 C 语言学生模型：此次导出未使用 --c。以 `{flags}` 重新运行导出，可保留相同的变体并"
                  "加入 c/kdedge.h 和 c/kdedge.c：无外部依赖、已在测试集上与 onnxruntime 核对的 C99 "
                  "学生模型（需要 gcc）。"),
    "c_files": ("`{header}` and `{source}`: C99 generated from `{onnx}`, one function "
                "`int {entry}(const float features[{k}], float probabilities[{n}])` that returns "
                "the class index; no malloc, no state, nothing beyond `<math.h>`; the inputs are "
                "raw feature values (the training scaler is applied inside the function).",
                "`{header}` 与 `{source}`：由 `{onnx}` 生成的 C99 代码，只有一个函数 "
                "`int {entry}(const float features[{k}], float probabilities[{n}])`，返回类别索引；"
                "无 malloc、无状态，只依赖 `<math.h>`；输入为原始特征值（训练时的标准化在函数内部完成）。"),
    "c_h_value": ("Value", "数值"),
    "c_r_code_weights": ("Code + weights, bytes (`size` of the -O2 object)",
                         "代码 + 权重，字节（-O2 目标文件的 `size`）"),
    "c_code_weights_cell": ("{b} (text {t} + data {d} + bss {s}; {w} of them float32 weights)",
                            "{b}（text {t} + data {d} + bss {s}；其中 float32 权重 {w}）"),
    "c_r_stack": ("Stack, bytes (-fstack-usage of {entry})", "栈，字节（{entry} 的 -fstack-usage）"),
    "c_r_parity": ("Parity with onnxruntime ({platform}, {n} test rows, batch 1)",
                   "与 onnxruntime 的一致性（{platform}，{n} 行测试数据，批大小 1）"),
    "c_parity_cell": ("max |Δp| {d} (tolerance {tol}), labels identical: {same} → {verdict}",
                      "最大 |Δp| {d}（容差 {tol}），标签完全一致：{same} → {verdict}"),
    "c_r_compiler": ("Compiler; flags", "编译器；编译选项"),
    "c_r_ops": ("ONNX nodes translated", "已转换的 ONNX 节点"),
    "c_timing": ("The C student at batch 1, timed in C (clock_gettime around blocks of calls), "
                 "beside onnxruntime in the same bench run",
                 "批大小 1 下的 C 语言学生模型：在 C 中计时（clock_gettime 包围成批的调用），与同一次"
                 "基准测试中的 onnxruntime 对比"),
    "c_r_ns": ("C: ns per call, median of blocks (fastest–slowest)",
               "C：每次调用 ns，各批中位数（最快–最慢）"),
    "c_r_calls": ("Calls per block × blocks", "每批调用次数 × 批数"),
    "c_r_floor": ("onnxruntime floor (empty graph, same interface): ns per call, p50",
                  "onnxruntime 下限（接口相同的空计算图）：每次调用 ns，p50"),
    "c_r_onnxruntime": ("The same student under onnxruntime: ns per call, p50",
                        "同一学生模型在 onnxruntime 下：每次调用 ns，p50"),
    "c_r_ratio_floor": ("C / onnxruntime floor", "C / onnxruntime 下限"),
    "c_r_ratio_onnxruntime": ("C / onnxruntime student", "C / onnxruntime 学生模型"),
    "c_r_ns_per_mac": ("ns per multiply-accumulate", "每次乘加 ns"),
    "c_needs_bench": ("Not timed yet: `{cmd}` times the C student beside onnxruntime (it needs "
                      "gcc).",
                      "尚未计时：运行 `{cmd}` 可在 onnxruntime 旁对 C 语言学生模型计时（需要 gcc）。"),
    "c_not_timed": ("{target}: the C student was not timed: {why}",
                    "{target}：C 语言学生模型未计时：{why}"),
    "c_not_benched": ("{target}: no C timing, the bench found no c/ folder (it ran before the "
                      "export with --c, or c/ was not copied to the device); bench again with "
                      "--force.",
                      "{target}：没有 C 计时，基准测试时未找到 c/ 目录（它在使用 --c 的导出之前运行，或 c/ "
                      "未复制到设备上）；请加 --force 重新运行基准测试。"),
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
    "throughput_at": ("Throughput at batch {batch}, rows/s (batch / p50 latency)",
                      "批大小 {batch} 的吞吐量，行/秒（批大小 / p50 延迟）"),
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
    "missing_models_note": ("Warning: {files} recorded in run.json by `kdedge export` no longer "
                            "exist; their rows describe files that are gone. Restore them or "
                            "re-export with `kdedge export {run} --force`.",
                            "警告：`kdedge export` 在 run.json 中记录的 {files} 已不存在；相关行描述的"
                            "是已删除的文件。请恢复它们，或用 `kdedge export {run} --force` 重新导出。"),
    "overloaded_note": ("{target} was overloaded while it was benched: 1-minute load average "
                        "{start} at the start and {end} at the end, on {cores} usable cores{steal}. "
                        "Other work on the machine inflated its timings below: compare them with "
                        "care, and bench again on an idle machine before quoting them.",
                        "{target} 在基准测试期间负载过高：1 分钟负载均值开始时为 {start}，结束时为 {end}，"
                        "可用核数 {cores}{steal}。机器上的其他任务抬高了下面的计时：请谨慎比较，引用前请"
                        "在空闲的机器上重新运行基准测试。"),
    "load_steal": ("; the hypervisor stole up to {p}% of the CPU time",
                   "；虚拟机管理程序占用了最多 {p}% 的 CPU 时间"),
    "quick_note": ("{target} was measured with --quick: repetitions too few for reliable numbers.",
                   "{target} 使用 --quick 测量：重复次数太少，数据不可靠。"),
    # class balance, baselines and paired verdicts
    "class_counts": ("Rows per class in each split", "各划分中每个类别的行数"),
    "h_class": ("Class", "类别"), "h_train": ("Train", "训练集"), "h_val": ("Validation", "验证集"),
    "h_test": ("Test", "测试集"), "h_all": ("All", "合计"), "total": ("Total", "合计"),
    "positive_mark": ("{c} (positive)", "{c}（正类）"),
    "positive_class": ("Positive class: {c}, {rule}. Recall, precision, ROC-AUC and PR-AUC of "
                       "the positive class are those of {c}.",
                       "正类：{c}，{rule}。正类的召回率、精确率、ROC-AUC 和 PR-AUC 均指 {c}。"),
    "rule_minority": ("the minority class of the training split (`--positive LABEL` overrides)",
                      "即训练集中的少数类（可用 `--positive LABEL` 指定）"),
    "rule_tie": ("the second label in sorted order, as the training split is balanced "
                 "(`--positive LABEL` overrides)",
                 "训练集类别均衡，取排序后的第二个标签（可用 `--positive LABEL` 指定）"),
    "rule_requested": ("chosen with `--positive`", "由 `--positive` 指定"),
    "rule_other": ("chosen as: {rule}", "选择方式：{rule}"),
    "no_positive": ("Multi-class data: there is no positive class; averaged figures are macro or "
                    "weighted, as each header says.",
                    "多类别数据：没有正类；平均指标为宏平均或加权平均，见各列标题。"),
    "models_table": ("Teacher, students and baselines on the same {n} test rows",
                     "教师、学生与基线模型在相同的 {n} 行测试集上的表现"),
    "h_inputs": ("Inputs", "输入特征数"), "h_predicted_classes": ("Classes predicted", "预测的类别数"),
    "per_class_table": ("Per-class scores on the test split (one-vs-rest), teacher vs student",
                        "测试集上各类别得分（一对其余），教师 vs 学生"),
    "h_support": ("Support (test rows)", "样本数（测试集）"),
    "h_of": ("{m}: {q}", "{m}：{q}"),
    "q_precision": ("precision", "精确率"), "q_recall": ("recall", "召回率"), "q_f1": ("F1", "F1"),
    "comparisons_table": ("Paired verdicts: both models on the same test rows",
                          "配对检验：两个模型在相同测试样本上的比较"),
    "comparisons_note": ("Δ = B − A. The interval is a paired bootstrap 95% interval of Δ (the same "
                         "resampled rows for both models, seeded); the p-value is the exact "
                         "McNemar test on the rows only one model got right. The verdict follows "
                         "the interval: it excludes 0 → B worse or B better; otherwise no "
                         "detectable difference, and half its width is the smallest difference "
                         "that comparison could have detected.",
                         "Δ = B − A。区间为 Δ 的配对自助法 95% 区间（两个模型使用相同的重抽样样本，"
                         "固定随机种子）；p 值为对仅一个模型预测正确的样本做的精确 McNemar 检验。结论由区间"
                         "决定：不含 0 → B 更差或 B 更好；否则为无可检测差异，区间半宽即该比较能检测到的"
                         "最小差异。"),
    "h_a": ("A (reference)", "A（参照）"), "h_b": ("B", "B"), "h_value_a": ("A", "A 值"),
    "h_value_b": ("B", "B 值"), "h_delta": ("Δ = B − A", "Δ = B − A"),
    "h_interval": ("95% interval of Δ", "Δ 的 95% 区间"),
    "h_discordant": ("Rows only A / only B right", "仅 A / 仅 B 正确的行数"),
    "h_p": ("McNemar p", "McNemar p"), "h_detectable": ("Smallest detectable", "最小可检测差异"),
    "h_rows": ("Rows", "行数"),
    "verdict.b_worse": ("B worse", "B 更差"), "verdict.b_better": ("B better", "B 更好"),
    "verdict.no_difference": ("no detectable difference", "无可检测差异"),
    # model names (`model.<name>`), in sentences and tables; {c} the majority class, {k}, {n}
    "model.teacher": ("Teacher", "教师模型"),
    "model.student": ("Student (KD)", "学生模型（蒸馏）"),
    "model.student_no_kd": ("No-KD student", "无蒸馏学生模型"),
    "model.student_all_features": ("Student on all {n} features", "使用全部 {n} 个特征的学生模型"),
    "model.majority": ("Majority class (always {c})", "多数类基线（总是预测 {c}）"),
    "model.logreg_k": ("LogisticRegression on the {k} selected features",
                       "基于 {k} 个所选特征的 LogisticRegression"),
    "model.logreg_all": ("LogisticRegression on all {n} features",
                         "基于全部 {n} 个特征的 LogisticRegression"),
    "model.hgb_all": ("HistGradientBoosting on all {n} features",
                      "基于全部 {n} 个特征的 HistGradientBoosting"),
    "model.graph": ("{m}, {v} graph", "{m}，{v} 计算图"),
    # compared metrics (`metric.<PairedComparison.metric>`); {c} the positive class
    "metric.accuracy": ("accuracy", "准确率"),
    "metric.positive_recall": ("recall of the positive class {c}", "正类 {c} 的召回率"),
    "metric.pr_auc": ("PR-AUC of the positive class {c}", "正类 {c} 的 PR-AUC"),
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
    # conclusions (`finding.`): {limit} is the threshold the comparison used
    # a paired verdict (`finding.paired_<verdict>`): {a} the reference, {b} the model compared,
    # {d} = b − a, {evidence} a finding.evidence_* clause, {md} the smallest detectable difference
    "finding.paired_b_worse": ("{b} lost {metric} against {a}: {vb} vs {va}, {d} ({evidence}).",
                               "{b}相比{a}损失了{metric}：{vb} 对 {va}，{d}（{evidence}）。"),
    "finding.paired_b_better": ("{b} gained {metric} over {a}: {vb} vs {va}, {d} ({evidence}).",
                                "{b}相比{a}提升了{metric}：{vb} 对 {va}，{d}（{evidence}）。"),
    "finding.paired_no_difference": ("{b} vs {a}, {metric}: {vb} vs {va}, {d} ({evidence}): no "
                                     "detectable difference; this {n}-row comparison could only "
                                     "have detected a difference of about {md} or more.",
                                     "{b}与{a}的{metric}：{vb} 对 {va}，{d}（{evidence}）：没有可检测"
                                     "到的差异；这一 {n} 行的比较只能检测到约 {md} 及以上的差异。"),
    "finding.paired_identical": ("{b} and {a} are right on exactly the same of the {n} rows "
                                 "compared: no difference in {metric}.",
                                 "在比较的 {n} 行中，{b}与{a}预测正确的行完全相同：{metric}没有差异。"),
    "finding.evidence_rows": ("95% paired bootstrap interval {ci}; {oa} rows only {a} got right, "
                              "{ob} only {b}; exact McNemar p {p}",
                              "95% 配对自助区间 {ci}；仅{a}正确 {oa} 行，仅{b}正确 {ob} 行；"
                              "精确 McNemar 检验 p {p}"),
    "finding.evidence_interval": ("95% paired bootstrap interval {ci}, {boot} resamples",
                                  "95% 配对自助区间 {ci}，{boot} 次重抽样"),
    "finding.teacher_useless": ("The teacher learned nothing useful: it is not significantly more "
                                "accurate than always predicting the majority class {c} ({t} vs "
                                "{m}; {evidence}). A student distilled from it cannot be useful "
                                "either: check the labels and the features first.",
                                "教师模型没有学到有用的信息：它并不比总是预测多数类 {c} 显著更准确"
                                "（{t} 对 {m}；{evidence}）。由它蒸馏出的学生模型也不可能有用：请先检查"
                                "标签和特征。"),
    "finding.no_paired": ("no paired comparison recorded", "未记录配对比较"),
    # distill's warnings and export's reasons are quoted as they were logged (English)
    "finding.warning": ("Distill warned: {w}", "蒸馏阶段的警告（英文原文）：“{w}”"),
    "finding.beats_teacher": ("A baseline is significantly more accurate than the teacher, so this "
                              "teacher is not the model to distil: {s}",
                              "有基线模型显著优于教师模型，因此不宜以此教师模型蒸馏：{s}"),
    "finding.simpler_as_good": ("A simpler model would do as well as the student: {s}",
                                "更简单的模型与学生模型同样可行：{s}"),
    "finding.single_class": ("{m} predicts only class {c} on the test split: it separates nothing.",
                             "{m}在测试集上只预测类别 {c}：它没有区分任何类别。"),
    "finding.raise_features": ("The most important feature left out, {next} (importance {vn}), is "
                               "at least {r}× as important as the least important one kept, "
                               "{kept} ({vk}): raising --features above {k} may help.",
                               "未选中的最重要特征 {next}（重要性 {vn}）至少是已选中最不重要特征 {kept}"
                               "（{vk}）的 {r} 倍：将 --features 提高到 {k} 以上可能有帮助。"),
    "finding.k_too_small": ("k too small: {s} loses to {t}, but {all} does not and is more accurate "
                            "than {s} ({va} vs {vs}): the dropped features carry what the student "
                            "misses; raise --features above {k}.",
                            "k 太小：{s}不如{t}，但{all}没有输给{t}，且比{s}更准确（{va} 对 {vs}）："
                            "被舍弃的特征包含学生模型缺少的信息；请将 --features 提高到 {k} 以上。"),
    "finding.student_too_small": ("Student too small: {all} also loses to {t} ({va} vs {vt}): "
                                  "more features will not close the gap; a larger student "
                                  "(--rank, --student_hidden) may.",
                                  "学生模型太小：{all}同样不如{t}（{va} 对 {vt}）：增加特征无法弥补差距；"
                                  "更大的学生模型（--rank、--student_hidden）或许可以。"),
    "finding.size_unclear": ("{s} loses to {t}; {all} neither loses to {t} nor beats {s} "
                             "detectably ({va} vs {vt} and {vs}): this split cannot tell whether "
                             "k or the student's size is the limit.",
                             "{s}不如{t}；{all}既没有可检测地输给{t}，也没有可检测地优于{s}（{va} 对 "
                             "{vt} 和 {vs}）：此数据划分无法判断限制因素是 k 还是学生模型的大小。"),
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
                              "the trained model (PyTorch, or scikit-learn for trees and baselines).",
                              "{m} 的 ONNX 一致性校验未通过：导出的计算图与训练所得模型（PyTorch，树模型与基线"
                              "模型为 scikit-learn）的结果不一致。"),
    "finding.variant_rejected": ("{m} was rejected: {r}.", "{m} 被拒绝，原因（英文原文）：“{r}”。"),
    "finding.variant_accepted": ("{m} was accepted (agreement with the fp32 student at least "
                                 "{agree}, no detectable paired accuracy loss, accuracy at most "
                                 "{limit} below it): accuracy {a}, agreement with the fp32 "
                                 "student {g}.",
                                 "{m} 被接受（与 fp32 学生一致率不低于 {agree}，配对检验未发现准确率"
                                 "损失，准确率最多低 {limit}）：准确率 {a}，与 fp32 学生一致率 {g}。"),
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
    "finding.c_student": ("The C student runs in {ns} ns per call on {target}, {r}× the "
                          "onnxruntime floor ({f} ns) and {m} ns per multiply-accumulate, in {b} "
                          "bytes of code and weights and {s} bytes of stack; {parity}",
                          "C 语言学生模型在 {target} 上每次调用 {ns} ns，为 onnxruntime 下限（{f} ns）的 "
                          "{r}×，每次乘加 {m} ns；代码与权重共 {b} 字节，栈 {s} 字节；{parity}"),
    "finding.c_untimed": ("The C student takes {b} bytes of code and weights and {s} bytes of "
                          "stack; {parity}",
                          "C 语言学生模型的代码与权重共 {b} 字节，栈 {s} 字节；{parity}"),
    "finding.c_parity": ("on {n} test rows its outputs match onnxruntime's within {d}, with "
                         "identical labels.",
                         "在 {n} 行测试数据上，其输出与 onnxruntime 的差异不超过 {d}，标签完全一致。"),
    "finding.c_parity_failed": ("on {n} test rows its outputs differ from onnxruntime's by up to "
                                "{d}, or its labels differ: do not deploy it.",
                                "在 {n} 行测试数据上，其输出与 onnxruntime 最多相差 {d}，或标签不一致："
                                "请勿部署。"),
    "finding.overloaded": ("{target} was overloaded during the bench (1-minute load average "
                           "{start} at the start and {end} at the end, on {cores} usable "
                           "cores{steal}): its timings are inflated by other work, and the speed "
                           "findings for it below may not hold on an idle machine.",
                           "{target} 在基准测试期间负载过高（1 分钟负载均值开始时为 {start}，结束时为 "
                           "{end}，可用核数 {cores}{steal}）：其计时被其他任务抬高，下面关于它的速度结论"
                           "在空闲机器上未必成立。"),
    "finding.quick": ("{target} was benched with --quick, a smoke measurement: the speed findings "
                      "for it below are indicative only; bench again without --quick (`{cmd}`) "
                      "before quoting them.",
                      "{target} 使用 --quick 测量，只是冒烟测试：下面关于它的速度结论仅供参考；引用前"
                      "请不加 --quick 重新运行基准测试（`{cmd}`）。"),
    "finding.emulated": ("Timings on {target} are emulated (qemu): they are not performance figures.",
                         "{target} 上的计时为模拟运行（qemu）：不是性能数据。"),
    # the overall verdict above the conclusions (`overall.py`): {kept} one finding.overall_<kept>
    # clause, {cost} finding.overall_cost*, {flags} finding.overall_flags or nothing
    "finding.overall": ("Overall verdict: {kept}, with {cost}{flags}.",
                        "总体评价：{kept}，{cost}{flags}。"),
    "finding.overall_useless": ("Overall verdict: the teacher learned nothing useful (it is no "
                                "better than always predicting the majority class), so no student "
                                "distilled from it is of use either{flags}.",
                                "总体评价：教师模型没有学到有用的信息（并不优于总是预测多数类），因此由它"
                                "蒸馏出的学生模型也不可用{flags}。"),
    "finding.overall_keeps": ("the student keeps the teacher (no detectable paired accuracy loss, "
                              "{d}; agreement {a})",
                              "学生模型保持了教师模型的水平（配对检验未发现准确率损失，{d}；一致率 {a}）"),
    "finding.overall_exceeds": ("the student is more accurate than the teacher ({d}, paired "
                                "interval {ci}; agreement {a})",
                                "学生模型比教师模型更准确（{d}，配对区间 {ci}；一致率 {a}）"),
    "finding.overall_low_agreement": ("the student matches the teacher's accuracy (no detectable "
                                      "paired difference, {d}) but agrees with it on only {a} of "
                                      "the test rows, below {limit}",
                                      "学生模型的准确率与教师模型相当（配对检验无可检测差异，{d}），但"
                                      "与教师模型的一致率仅为 {a}，低于 {limit}"),
    "finding.overall_loses": ("the student does NOT keep the teacher: it loses {loss} of "
                              "accuracy (paired interval {ci} excludes 0; agreement {a})",
                              "学生模型没有保持教师模型的水平：准确率损失 {loss}（配对区间 {ci} 不含 0；"
                              "一致率 {a}）"),
    "finding.overall_unpaired": ("no paired comparison of the student with the teacher was "
                                 "recorded (agreement {a})",
                                 "未记录学生模型与教师模型的配对比较（一致率 {a}）"),
    "finding.overall_cost": ("{pr} fewer parameters and {mr} fewer MACs, reading {k} of {n} "
                             "features",
                             "参数量减少 {pr}、MACs 减少 {mr}，使用 {n} 个特征中的 {k} 个"),
    "finding.overall_cost_params": ("{pr} fewer parameters, reading {k} of {n} features",
                                    "参数量减少 {pr}，使用 {n} 个特征中的 {k} 个"),
    "finding.overall_flags": ("; but {items}", "；但{items}"),
    "finding.overall_flag_baseline": ("{m} is more accurate than the teacher",
                                      "{m}比教师模型更准确"),
    "finding.overall_flag_recall": ("the student loses recall of the positive class {c} ({d}, "
                                    "paired)",
                                    "学生模型损失了正类 {c} 的召回率（{d}，配对检验）"),
    "finding.overall_flag_single_class": ("the student predicts a single class",
                                          "学生模型只预测一个类别"),
    "finding.overall_flag_parity": ("the ONNX graph of {models} does not reproduce the trained "
                                    "model",
                                    "{models} 的 ONNX 计算图与训练所得模型的结果不一致"),
    "finding.overall_flag_rejected": ("export rejected {models} (do not deploy)",
                                      "导出时拒绝了 {models}（请勿部署）"),
    "finding.missing": ("Not yet measured: run `{cmd}` for the {what} section.",
                        "尚未测量：运行 `{cmd}` 以生成“{what}”部分。"),
    "finding.stage_export": ("ONNX export", "ONNX 导出"),
    "finding.stage_bench": ("benchmark", "基准测试"),
}
TEXT.update(SEARCH_TEXT)  # the GBDT teacher, the size search and the Pareto front (text_search.py)


def finding(lang: str, key: str, **values) -> str:
    """The conclusion sentence `finding.<key>` in `lang`."""
    return tr(lang, f"finding.{key}", **values)


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


def fmt_interval(low, high) -> str:
    """A paired interval of a difference in percentage points: [-3.75, -0.83] pt."""
    return f"[{low * 100:+.2f}, {high * 100:+.2f}] pt"


def fmt_p(value, *, relation: bool = False) -> str:
    """A p-value to 4 decimals, below 0.0001 as "< 0.0001"; `relation` adds "= " before a value
    (for "p = 0.0061" beside "p < 0.0001")."""
    if value is None:
        return "—"
    if value < 1e-4:
        return "< 0.0001"
    return f"= {value:.4f}" if relation else f"{value:.4f}"
