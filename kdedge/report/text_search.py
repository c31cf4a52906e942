"""The report's words for the GBDT teacher, the size search and the Pareto front, as (en, zh).

Part of the one translation table: `text.TEXT` merges `SEARCH_TEXT`, and `text.tr` is the one
lookup (kept here only so text.py stays readable). Placeholders are filled with numbers already
formatted by text.py's functions.
"""

from __future__ import annotations

SEARCH_TEXT: dict[str, tuple[str, str]] = {
    # the header: a GBDT teacher, the transfer set
    "teacher_gbdt_name": ("HistGradientBoosting, {iterations} iterations, {trees} trees, {nodes} "
                          "nodes (at most {leaves} leaves per tree, learning rate {lr})",
                          "HistGradientBoosting 梯度提升树：{iterations} 次迭代，{trees} 棵树，"
                          "{nodes} 个节点（每棵树最多 {leaves} 个叶子，学习率 {lr}）"),
    "transfer_set": ("Transfer set", "迁移集"),
    "transfer_none": ("none: the students learn from the {rows} real training rows only",
                      "无：学生模型只从 {rows} 行真实训练数据学习"),
    "transfer_munge": ("MUNGE (Bucilă, Caruana & Niculescu-Mizil 2006): {rows} synthetic rows "
                       "labelled only by the teacher's soft targets, added to the KD students' "
                       "{train} training rows",
                       "MUNGE（Bucilă、Caruana 与 Niculescu-Mizil，2006）：{rows} 行合成样本，只以教师"
                       "模型的软目标为标签，加入 KD 学生模型的 {train} 行训练数据"),
    "transfer_other": ("{method}: {rows} synthetic rows labelled by the teacher",
                       "{method}：{rows} 行由教师模型标注的合成样本"),
    # compression against a tree teacher: no MACs to compare
    "macs_na": ("n/a — trees compare, they do not multiply", "不适用——树模型只做比较，不做乘法"),
    "q_params_trees": ("Parameters (teacher: tree nodes)", "参数量（教师：树节点数）"),
    "q_weight_bytes_trees": ("Stored bytes (teacher: its node arrays; student: float32 weights)",
                             "存储字节数（教师：节点数组；学生：float32 权重）"),
    "q_latency": ("Batch-1 latency p50, µs ({target}, measured)",
                  "批大小 1 延迟 p50，µs（{target}，实测）"),
    "sum_params_trees": ("Parameters: the teacher has {t} tree nodes (a threshold per split, a "
                         "weight per leaf), the student {s} trained parameters ({ratio} fewer)",
                         "参数量：教师模型有 {t} 个树节点（每个分裂一个阈值，每个叶子一个权重），学生模型"
                         "有 {s} 个训练参数（少 {ratio}）"),
    "sum_compute_trees": ("Compute per sample: the teacher's MACs are n/a — trees compare, they do "
                          "not multiply; the student needs {s} MACs ({sf} FLOPs). Compare the "
                          "two by measured latency and file bytes instead",
                          "单样本计算量：教师模型的 MACs 不适用——树模型只做比较，不做乘法；学生模型需要 "
                          "{s} MACs（{sf} FLOPs）。请改用实测延迟和文件字节数比较两者"),
    "sum_latency": ("Batch-1 latency (p50 on {target}): {t} → {s} µs (teacher / student {ratio})",
                    "批大小 1 延迟（{target} 上的 p50）：{t} → {s} µs（教师 / 学生 {ratio}）"),
    "sum_file_bytes": ("ONNX file: {t} → {s} bytes (teacher / student {ratio})",
                       "ONNX 文件：{t} → {s} 字节（教师 / 学生 {ratio}）"),
    "trees_note": ("The teacher is a gradient-boosted tree ensemble: at each node on a path it "
                   "compares a feature with a threshold and multiplies nothing, so its MACs are "
                   "not a cost and no MACs or FLOPs ratio is given against it; the measured "
                   "latency and the file bytes compare the two.",
                   "教师模型是梯度提升树集成：沿路径在每个节点上将一个特征与阈值比较，不做乘法，因此 "
                   "MACs 不能衡量其成本，也不给出与它的 MACs 或 FLOPs 之比；请以实测延迟和文件字节数"
                   "比较两者。"),
    # the size search (`size_search.py`)
    "search_title": ("How the student's size was chosen", "学生模型规模的选择"),
    "search_arch": ("k = {k}, rank {rank}, head {head}", "k = {k}，秩 {rank}，头部 {head}"),
    "search_found": ("The size search trained {n} candidate students in {s} s and chose the "
                     "smallest that keeps the teacher: {arch} ({macs} MACs, {params} "
                     "parameters), validation agreement {a} with the teacher (target at least "
                     "{f}), accuracy {acc} against the teacher's {ta}.",
                     "规模搜索在 {s} 秒内训练了 {n} 个候选学生模型，选出保持教师水平的最小者：{arch}"
                     "（{macs} MACs，{params} 个参数），验证集上与教师的一致率 {a}（目标不低于 {f}），"
                     "准确率 {acc}，教师为 {ta}。"),
    "search_none": ("No student met the target: the size search trained {n} candidate students "
                    "in {s} s and none reached validation agreement of at least {f} with no "
                    "detectable paired loss; it kept the closest, {arch} ({macs} MACs, {params} "
                    "parameters), agreement {a}, accuracy {acc} against the teacher's {ta}.",
                    "没有学生模型达到目标：规模搜索在 {s} 秒内训练了 {n} 个候选学生模型，没有一个在"
                    "验证集上达到不低于 {f} 的一致率且无可检测的配对损失；保留了最接近的 {arch}（{macs} "
                    "MACs，{params} 个参数），一致率 {a}，准确率 {acc}，教师为 {ta}。"),
    "search_fixed": ("No size search was run: the student has the fixed size {arch} ({macs} "
                     "MACs, {params} parameters; --student fixed, --rank or --student_hidden). On "
                     "the validation rows it agrees with the teacher on {a}, accuracy {acc} "
                     "against the teacher's {ta}: {verdict}.",
                     "未进行规模搜索：学生模型为固定规模 {arch}（{macs} MACs，{params} 个参数；"
                     "--student fixed、--rank 或 --student_hidden）。在验证集上与教师的一致率为 {a}，"
                     "准确率 {acc}，教师为 {ta}：{verdict}。"),
    "search_keeps": ("it keeps the teacher", "它保持了教师模型的水平"),
    "search_misses": ("it does NOT keep the teacher (target: agreement at least {f} and no "
                      "detectable paired loss)",
                      "它没有保持教师模型的水平（目标：一致率不低于 {f} 且无可检测的配对损失）"),
    "search_logged": ("As distill logged it: “{m}”", "蒸馏阶段的记录（英文原文）：“{m}”"),
    "search_rule": ("Rule: a probe on every feature finds the largest head needed (64-32, "
                    "128-64, 256-128 in turn); a binary search over a ladder of k finds the "
                    "fewest inputs whose student with that head keeps the teacher; then, from "
                    "that k upwards, a binary search for smaller students (rank and head growing "
                    "together). Keeps the teacher = validation agreement of at least {f}, no "
                    "detectable paired accuracy loss (exact McNemar test, paired bootstrap "
                    "interval) and, on binary data, no detectable loss of the positive class's "
                    "recall. Winner: the fewest MACs, then parameters; if none keeps it, the "
                    "highest agreement. search.json's `rule` records it in full.",
                    "规则：先在全部特征上探测所需的最大头部（依次 64-32、128-64、256-128）；再在 k 的"
                    "阶梯上二分查找，使该头部的学生模型保持教师水平的最少输入数；然后从该 k 起向上，二分"
                    "查找更小的学生模型（秩与头部一同增长）。保持教师水平 = 验证集一致率不低于 {f}、配对"
                    "检验（精确 McNemar 检验与配对自助区间）未发现准确率损失，二分类数据上还要求正类召回率"
                    "无可检测损失。胜者：MACs 最少，其次参数最少；若无一达标，取一致率最高者。search.json "
                    "的 `rule` 记录了完整规则。"),
    "search_budget": ("Budget: {b} s of candidate fits (--search_seconds); they took {s} s: "
                      "{state}.",
                      "预算：候选模型训练 {b} 秒（--search_seconds）；实际用时 {s} 秒：{state}。"),
    "search_budget_left": ("the search finished within it", "搜索在预算内完成"),
    "search_budget_out": ("the budget ran out and candidates were left untried, so the student "
                          "is the best found before then and depends on this machine's speed",
                          "预算用完，仍有候选模型未尝试，因此学生模型是此前找到的最佳者，结果取决于本机速度"),
    "search_rows": ("Every candidate was fitted on {screen} training rows (the screening rows) "
                    "and judged against the teacher on {val} validation rows; the test split was "
                    "not looked at.",
                    "每个候选模型都在 {screen} 行训练数据（筛选样本）上训练，并在 {val} 行验证数据上与"
                    "教师比较；搜索期间未使用测试集。"),
    "search_rows_fixed": ("It was fitted on {screen} training rows and judged against the "
                          "teacher on {val} validation rows; the test split was not looked at.",
                          "它在 {screen} 行训练数据上训练，并在 {val} 行验证数据上与教师比较；此过程未使用"
                          "测试集。"),
    "search_refit": ("The winner was then refitted on every training row ({rows} rows: the "
                     "refit row of the table), and that fit is the student.",
                     "随后胜者在全部训练数据（{rows} 行：表中的全量重训行）上重新训练，该模型即为学生"
                     "模型。"),
    "search_transfer": ("Transfer set: {t}.", "迁移集：{t}。"),
    "search_missing": ("No search.json: distill made this run before it recorded how the "
                       "student's size was chosen; run `kdedge distill` again for the size search.",
                       "没有 search.json：此运行目录由尚未记录学生规模选择方式的旧版蒸馏生成；请重新运行 "
                       "`kdedge distill` 以进行规模搜索。"),
    "search_table": ("Every candidate the search trained, in the order it ran (validation rows)",
                     "搜索训练的全部候选模型，按训练顺序（验证集）"),
    "h_phase": ("Phase", "阶段"), "h_k": ("k (inputs)", "k（输入数）"), "h_factors": ("Rank", "秩"), "h_head": ("Head", "头部"),
    "h_macs": ("MACs", "MACs"), "h_params": ("Parameters", "参数量"),
    "h_val_agreement": ("Val. agreement", "验证集一致率"),
    "h_val_accuracy": ("Val. accuracy / teacher's", "验证集准确率 / 教师"),
    "h_paired": ("Paired vs teacher", "与教师的配对检验"),
    "h_keeps": ("Keeps the teacher?", "保持教师水平？"), "h_seconds": ("Seconds", "秒"),
    "search_phase_probe": ("probe", "探测"), "search_phase_k": ("k", "k 搜索"),
    "search_phase_size": ("size", "规模"), "search_phase_refit": ("refit (all rows)", "全量重训"),
    "search_phase_fixed": ("fixed", "固定"),
    "search_chosen": ("{p} ★ chosen", "{p} ★ 选中"),
    "search_accuracy_verdict": ("accuracy: {v}", "准确率：{v}"),
    "search_recall_verdict": ("recall: {v}", "召回率：{v}"),
    "verdict_sep": (", ", "，"),
    "search_v_b_worse": ("loss", "有损失"), "search_v_no_difference": ("no detectable loss", "无可检测损失"),
    "search_v_b_better": ("gain", "提升"),
    # the Pareto front (`pareto.py`)
    "caption.pareto": ("Pareto front: test accuracy of every exported model file (teacher, "
                       "student, its quantized variants, the baselines) against its measured "
                       "batch-1 p50 latency and its file bytes, the front joined (no other model "
                       "at least as accurate and cheaper; rejected variants hollow and left off "
                       "the front); right: the size search's candidates, validation agreement "
                       "against MACs with the fidelity line, the chosen one starred (candidates "
                       "are fitted on the screening rows only: they are not exported or benched)",
                       "帕累托前沿：每个导出模型文件（教师、学生及其量化变体、基线模型）的测试准确率与实测批"
                       "大小 1 的 p50 延迟、文件字节数的关系，前沿以线相连（没有其他模型同样准确且更便宜；被"
                       "拒绝的变体为空心，不计入前沿）；右：规模搜索的候选模型，验证集一致率与 MACs 的关系，"
                       "含一致率目标线，选中者以星号标出（候选模型只在筛选样本上训练，未导出也未测速）"),
    "front_sentence": ("On {target}, the accuracy–latency front (batch-1 p50) is: {front}{dominated}.",
                       "在 {target} 上，准确率–延迟前沿（批大小 1 的 p50）为：{front}{dominated}。"),
    "front_bytes_sentence": ("By file size, the accuracy–bytes front is: {front}{dominated}.",
                             "按文件大小，准确率–字节数前沿为：{front}{dominated}。"),
    "front_item_latency": ("{m} ({a}, {v} µs)", "{m}（{a}，{v} µs）"),
    "front_item_bytes": ("{m} ({a}, {v} bytes)", "{m}（{a}，{v} 字节）"),
    "front_dominated": (". Dominated: {items}", "。被支配的：{items}"),
    "front_dominated_item": ("{x} (by {y})", "{x}（被{y}支配）"),
    "front_none": ("No model file was benched without error on {target}: no front to name.",
                   "{target} 上没有无错误完成测速的模型文件：无法给出前沿。"),
    # conclusions and the overall verdict
    "finding.compressed_trees": ("The student reads {k} of {n} features with {ps} parameters "
                                 "against the teacher's {pt} tree nodes ({pr} fewer) and {ms} "
                                 "MACs; the teacher's trees compare and do not multiply, so no "
                                 "MACs ratio is given{files}.",
                                 "学生模型使用 {n} 个特征中的 {k} 个，有 {ps} 个参数，教师模型有 {pt} 个"
                                 "树节点（少 {pr}），学生需要 {ms} MACs；教师的树只做比较不做乘法，因此不给出"
                                 " MACs 之比{files}。"),
    "finding.compressed_files": ("; its ONNX file is {r} smaller than the teacher's ({t} → {s} "
                                 "bytes)",
                                 "；其 ONNX 文件比教师的小 {r}（{t} → {s} 字节）"),
    "finding.search_no_target": ("No student met the size search's target: none of the {n} "
                                 "candidates reached validation agreement of at least {f} with "
                                 "no detectable paired loss{budget}; the student kept is the "
                                 "closest, {arch} (agreement {a}; paired against the teacher: "
                                 "{verdicts}). More --features, a larger "
                                 "--search_seconds or another teacher may close the gap; else "
                                 "accept the gap the verdicts above show.",
                                 "没有学生模型达到规模搜索的目标：{n} 个候选模型中没有一个在验证集上达到"
                                 "不低于 {f} 的一致率且无可检测的配对损失{budget}；保留的学生模型是最接近"
                                 "的 {arch}（一致率 {a}；与教师的配对检验：{verdicts}）。更多 --features、更大的 --search_seconds 或换一个"
                                 "教师模型或许能缩小差距；否则请接受上文配对检验所示的差距。"),
    "finding.search_budget_out": (" before the budget of {b} s ran out",
                                  "（在 {b} 秒预算用完之前）"),
    "finding.search_fixed_misses": ("The fixed-size student ({arch}) misses the target on the "
                                    "validation rows (agreement {a}; paired against the teacher: "
                                    "{verdicts}; target: agreement at least {f} with no "
                                    "detectable paired loss): the size search (without --student "
                                    "fixed, --rank and --student_hidden) may find one that meets "
                                    "it.",
                                    "固定规模的学生模型（{arch}）在验证集上未达到目标（一致率 {a}；与教师"
                                    "的配对检验：{verdicts}；目标：一致率不低于 {f} 且无可检测的配对损失）："
                                    "规模搜索（不使用 --student fixed、--rank 和 --student_hidden）或许能"
                                    "找到达标的模型。"),
    "finding.overall_flag_search": ("no student of the size search met the target (validation "
                                    "agreement of at least {f} with no detectable paired loss)",
                                    "规模搜索中没有学生模型达到目标（验证集一致率不低于 {f} 且无可检测的"
                                    "配对损失）"),
    "finding.overall_flag_fixed": ("the fixed-size student misses the target on the validation "
                                   "rows (agreement of at least {f} with no detectable paired loss)",
                                   "固定规模的学生模型在验证集上未达到目标（一致率不低于 {f} 且无可检测的"
                                   "配对损失）"),
    "finding.overall_cost_trees": ("{ps} parameters against the teacher's {pt} tree nodes, "
                                   "reading {k} of {n} features",
                                   "学生模型 {ps} 个参数对教师模型 {pt} 个树节点，使用 {n} 个特征中的 {k} 个"),
}
