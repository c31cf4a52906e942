"""Conclusions written from the numbers: each sentence is chosen by a comparison, not a template.

`conclusions(facts, lang)` returns one sentence per finding. The thresholds are the issue's:
agreement below 0.98, the student more than 1 accuracy point below the teacher, a call-overhead
dominated batch-1 latency (p50 under twice the floor of an empty call).

Noise rule: two models scored on the same n test rows differ in accuracy by Δ. Each accuracy has
standard error sqrt(p·(1−p)/n), so their difference has about sqrt(2·p·(1−p)/n), with p the mean
of the two accuracies. Δ is "within noise" unless |Δ| > 2·sqrt(2·p·(1−p)/n) (two standard errors,
~95%). Every accuracy comparison (student vs teacher, KD vs no-KD) says which side of that band it
is on; a KD gain within noise is reported as no evidence either way, and a drop of more than
1 point that is within noise is not called a loss. A stale bench model (measured file differs from
what export recorded) gives no speed finding.
"""

from __future__ import annotations

import math

from kdedge.report.collect import Facts, model_label
from kdedge.report.text import fmt_int, fmt_metric, fmt_points, fmt_ratio

AGREEMENT_THRESHOLD = 0.98
ACCURACY_DROP_POINTS = 0.01
NOISE_STANDARD_ERRORS = 2.0  # |Δ| beyond 2 standard errors of the difference: not noise (~95%)
OVERHEAD_RATIO = 2.0  # p50 below 2× the floor: most of a call is fixed overhead, not the model

SENTENCES = {
    # {q} is "noise_within" or "noise_beyond"; {d} in acc_drop* is a magnitude (the word says below)
    "noise_within": ("within the noise of a {n}-row test split (±{x})",
                     "在 {n} 行测试集的噪声范围（±{x}）之内"),
    "noise_beyond": ("beyond the noise of a {n}-row test split (±{x})",
                     "超出 {n} 行测试集的噪声范围（±{x}）"),
    "acc_drop": ("The student's accuracy ({s}) is {d} below the teacher's ({t}): more than 1 point "
                 "lost, {q}.",
                 "学生模型准确率（{s}）比教师模型（{t}）低 {d}：损失超过 1 个百分点，{q}。"),
    "acc_drop_noise": ("The student's accuracy ({s}) is {d} below the teacher's ({t}): more than the "
                       "1-point threshold, but {q}: no evidence that the student lost accuracy.",
                       "学生模型准确率（{s}）比教师模型（{t}）低 {d}：超过 1 个百分点的阈值，但{q}："
                       "没有证据表明学生模型损失了准确率。"),
    "acc_close": ("The student's accuracy ({s}) is within 1 point of the teacher's ({t}) ({d}), {q}.",
                  "学生模型准确率（{s}）与教师模型（{t}）相差在 1 个百分点以内（{d}），{q}。"),
    "acc_better": ("The student's accuracy ({s}) matches or exceeds the teacher's ({t}) ({d}), {q}.",
                   "学生模型准确率（{s}）达到或超过教师模型（{t}）（{d}），{q}。"),
    "kd_worse": ("KD made the student worse: accuracy {kd} with KD vs {nokd} without ({g}), {q}.",
                 "蒸馏使学生模型变差：蒸馏准确率 {kd}，无蒸馏 {nokd}（{g}），{q}。"),
    "kd_same": ("KD made no difference to accuracy: {kd} with and without KD.",
                "蒸馏对准确率没有影响：有无蒸馏均为 {kd}。"),
    "kd_noise": ("KD vs no-KD: {kd} vs {nokd} ({g}), {q}: no evidence KD helped or hurt.",
                 "蒸馏 vs 无蒸馏：{kd} 对 {nokd}（{g}），{q}：没有证据表明蒸馏有益或有害。"),
    "kd_better": ("KD improved the student: accuracy {kd} with KD vs {nokd} without ({g}), {q}.",
                  "蒸馏提升了学生模型：蒸馏准确率 {kd}，无蒸馏 {nokd}（{g}），{q}。"),
    "agree_low": ("Agreement with the teacher is {a}, below 0.98: the student predicts a different "
                  "class on {d} of test rows.",
                  "与教师模型的一致率为 {a}，低于 0.98：学生模型在 {d} 的测试样本上预测了不同类别。"),
    "agree_ok": ("Agreement with the teacher is {a} (at least 0.98).",
                 "与教师模型的一致率为 {a}（不低于 0.98）。"),
    "compressed": ("The student reads {k} of {n} features and has {pr} fewer parameters "
                   "({pt} → {ps}) and {mr} fewer MACs ({mt} → {ms}).",
                   "学生模型使用 {n} 个特征中的 {k} 个，参数量减少 {pr}（{pt} → {ps}），"
                   "MACs 减少 {mr}（{mt} → {ms}）。"),
    "parity_failed": ("ONNX parity FAILED for {m}: the exported graph does not reproduce PyTorch.",
                      "{m} 的 ONNX 一致性校验未通过：导出的计算图与 PyTorch 结果不一致。"),
    "variant_rejected": ("{m} was rejected: {r}.", "{m} 被拒绝：{r}。"),
    "variant_accepted": ("{m} was accepted: accuracy {a}, agreement with the fp32 student {g}.",
                         "{m} 被接受：准确率 {a}，与 fp32 学生一致率 {g}。"),
    "variant_slower": ("On {target}, {m} is slower than the fp32 student at batch 1 "
                       "(p50 {v} µs vs {f} µs).",
                       "在 {target} 上，批大小 1 时 {m} 比 fp32 学生模型更慢（p50 {v} µs 对 {f} µs）。"),
    "variant_faster": ("On {target}, {m} is faster than the fp32 student at batch 1 "
                       "(p50 {v} µs vs {f} µs).",
                       "在 {target} 上，批大小 1 时 {m} 比 fp32 学生模型更快（p50 {v} µs 对 {f} µs）。"),
    "overhead": ("On {target}, the student's batch-1 latency (p50 {p} µs) is {r}× the floor of an "
                 "empty call: call overhead dominates, not the model's arithmetic.",
                 "在 {target} 上，学生模型批大小 1 的延迟（p50 {p} µs）是空调用下限的 {r} 倍："
                 "主要是调用开销，而非模型计算。"),
    "compute_visible": ("On {target}, the student's batch-1 latency (p50 {p} µs) is {r}× the floor "
                        "of an empty call: the model's own work is visible above the call overhead.",
                        "在 {target} 上，学生模型批大小 1 的延迟（p50 {p} µs）是空调用下限的 {r} 倍："
                        "模型自身计算在调用开销之上可见。"),
    "student_vs_teacher_speed": ("On {target}, the student is {r} faster than the teacher at batch 1 "
                                 "(p50 {s} µs vs {t} µs).",
                                 "在 {target} 上，批大小 1 时学生模型比教师模型快 {r}"
                                 "（p50 {s} µs 对 {t} µs）。"),
    "student_slower_than_teacher": ("On {target}, the student is NOT faster than the teacher at batch 1 "
                                    "(p50 {s} µs vs {t} µs): at this size both are call-overhead bound.",
                                    "在 {target} 上，批大小 1 时学生模型并不比教师模型快"
                                    "（p50 {s} µs 对 {t} µs）：两者都受调用开销限制。"),
    "throughput": ("On {target}, at batch {b} the student processes {s} rows/s against the teacher's "
                   "{t} ({r}).",
                   "在 {target} 上，批大小 {b} 时学生模型吞吐量为 {s} 行/秒，教师模型为 {t}（{r}）。"),
    "variant_bigger": ("{m}'s file ({v} bytes) is larger than the fp32 student's ({f} bytes): for a "
                       "model this small, quantization scales and extra nodes outweigh the saved "
                       "weight bytes.",
                       "{m} 的文件（{v} 字节）比 fp32 学生模型（{f} 字节）更大：模型如此之小时，"
                       "量化参数和额外节点超过了节省的权重字节。"),
    "stale_bench": ("The bench on {target} measured files whose sha256 differs from what "
                    "`kdedge export` recorded in run.json ({models}) — an older export or a file "
                    "changed after export: its numbers for those models may not describe the "
                    "exported models, and no speed conclusion is drawn from them; re-export or "
                    "re-bench.",
                    "{target} 上的基准测试所测文件的 sha256 与 `kdedge export` 在 run.json 中记录的"
                    "不同（{models}）——可能是较早的导出，或导出后被改动的文件：这些模型的数据可能"
                    "不代表已导出的模型，也不据此得出速度结论；请重新导出或重新运行基准测试。"),
    "emulated": ("Timings on {target} are emulated (qemu): they are not performance figures.",
                 "{target} 上的计时为模拟运行（qemu）：不是性能数据。"),
    "missing": ("Not yet measured: run `{cmd}` for the {what} section.",
                "尚未测量：运行 `{cmd}` 以生成“{what}”部分。"),
}


def _say(lang: str, key: str, **values) -> str:
    en, zh = SENTENCES[key]
    return (zh if lang == "zh" else en).format(**values)


def accuracy_noise(accuracy_a: float, accuracy_b: float, n_rows: int) -> float:
    """The noise band of an accuracy difference between two models scored on the same `n_rows`
    test rows: 2·sqrt(2·p·(1−p)/n), p the mean of the two accuracies (module docstring)."""
    p = (accuracy_a + accuracy_b) / 2
    return NOISE_STANDARD_ERRORS * math.sqrt(2 * p * (1 - p) / n_rows)


def _test_rows(facts: Facts) -> int:
    split = (facts.metrics.get("data") or {}).get("split") or {}
    return split.get("test") or len(facts.run.split["y_test"])


def _noise_clause(lang: str, delta: float, noise: float, n_rows: int) -> tuple[str, bool]:
    """The "within/beyond the noise" clause of a difference, and whether it is within."""
    within = abs(delta) <= noise
    return _say(lang, "noise_within" if within else "noise_beyond", n=fmt_int(n_rows),
                x=fmt_points(noise, signed=False)), within


def _accuracy_finding(facts: Facts, lang: str) -> str:
    """Student vs teacher: the 1-point rule, qualified by the noise band of the test split."""
    s, t = facts.metrics["student"]["accuracy"], facts.metrics["teacher"]["accuracy"]
    n_rows = _test_rows(facts)
    delta = s - t
    q, within = _noise_clause(lang, delta, accuracy_noise(s, t, n_rows), n_rows)
    if delta < -ACCURACY_DROP_POINTS:
        return _say(lang, "acc_drop_noise" if within else "acc_drop", s=fmt_metric(s), t=fmt_metric(t),
                    d=fmt_points(delta, signed=False), q=q)
    return _say(lang, "acc_close" if delta < 0 else "acc_better", s=fmt_metric(s), t=fmt_metric(t),
                d=fmt_points(delta), q=q)


def _kd_finding(facts: Facts, lang: str) -> str:
    """KD vs no-KD student: improved / worse only beyond the noise band, else no evidence."""
    m = facts.metrics
    kd, no_kd = m["student"]["accuracy"], m["student_no_kd"]["accuracy"]
    gain = m.get("kd_gain", kd - no_kd)
    values = dict(kd=fmt_metric(kd), nokd=fmt_metric(no_kd))
    if gain == 0:
        return _say(lang, "kd_same", **values)
    n_rows = _test_rows(facts)
    q, within = _noise_clause(lang, gain, accuracy_noise(kd, no_kd, n_rows), n_rows)
    key = "kd_noise" if within else "kd_worse" if gain < 0 else "kd_better"
    return _say(lang, key, g=fmt_points(gain), q=q, **values)


def conclusions(facts: Facts, lang: str) -> list[str]:
    """Sentences, in `lang`, that state what the measured numbers show."""
    m = facts.metrics
    teacher, student = m["teacher"], m["student"]
    out = [_accuracy_finding(facts, lang), _kd_finding(facts, lang)]
    agreement = m["agreement"]
    key = "agree_low" if agreement < AGREEMENT_THRESHOLD else "agree_ok"
    out.append(_say(lang, key, a=fmt_metric(agreement), d=f"{(1 - agreement) * 100:.2f}%"))
    out.append(_say(lang, "compressed", k=facts.k, n=facts.n,
                    pr=fmt_ratio(teacher["params"], student["params"]), pt=fmt_int(teacher["params"]),
                    ps=fmt_int(student["params"]), mr=fmt_ratio(teacher["macs"], student["macs"]),
                    mt=fmt_int(teacher["macs"]), ms=fmt_int(student["macs"])))
    out += _export_findings(facts, lang)
    out += _bench_findings(facts, lang)
    names = {"export": ("ONNX export", "ONNX 导出"), "bench": ("benchmark", "基准测试")}
    for stage, cmd in facts.missing.items():
        out.append(_say(lang, "missing", cmd=cmd, what=names[stage][lang == "zh"]))
    return out


def _export_findings(facts: Facts, lang: str) -> list[str]:
    out = []
    for name, entry in (facts.export or {}).get("models", {}).items():
        parity = entry.get("parity")
        if isinstance(parity, dict) and parity.get("passed") is False:
            out.append(_say(lang, "parity_failed", m=model_label(name)))
        if entry.get("variant", "fp32") == "fp32":
            continue
        fp32_bytes = (facts.export["models"].get(entry.get("model") or "") or {}).get("file_bytes")
        if fp32_bytes and (entry.get("file_bytes") or 0) > fp32_bytes:
            out.append(_say(lang, "variant_bigger", m=model_label(name), v=fmt_int(entry["file_bytes"]),
                            f=fmt_int(fp32_bytes)))
        if entry.get("verdict") == "rejected":
            out.append(_say(lang, "variant_rejected", m=model_label(name),
                            r=str(entry.get("reason") or "—").rstrip(".")))
        elif entry.get("verdict") == "accepted":
            out.append(_say(lang, "variant_accepted", m=model_label(name),
                            a=fmt_metric((entry.get("metrics") or {}).get("accuracy")),
                            g=fmt_metric(entry.get("agreement_fp32"))))
    return out


def _timings(bench, name: str, batch) -> dict | None:
    """A model's timings at `batch` fit for a speed finding: None when missing, failed or stale."""
    model = bench.models.get(name)
    if model is None or model.error or name in bench.stale or batch not in model.latency:
        return None
    return model.latency[batch]


def _p50(bench, name: str, batch: int = 1):
    stats = _timings(bench, name, batch)
    return None if stats is None else stats["p50"]


def _throughput(bench, name: str, batch):
    stats = _timings(bench, name, batch)
    return None if stats is None else stats.get("throughput_rps")


def _relative(student: float, teacher: float, lang: str) -> str:
    if student >= teacher:
        return f"{student / teacher:.1f}× " + ("更高" if lang == "zh" else "higher")
    return f"{teacher / student:.1f}× " + ("更低" if lang == "zh" else "lower")


def _bench_findings(facts: Facts, lang: str) -> list[str]:
    out = []
    for bench in facts.benches:
        target = bench.target
        if bench.stale:
            out.append(_say(lang, "stale_bench", target=target,
                            models=", ".join(model_label(n) for n in bench.stale)))
        if bench.emulated:  # translator timings: say so, and draw no speed conclusion from them
            out.append(_say(lang, "emulated", target=target))
            continue
        fp32 = _p50(bench, "student")
        teacher = _p50(bench, "teacher")
        if fp32 is not None and teacher is not None:
            key = "student_vs_teacher_speed" if fp32 < teacher else "student_slower_than_teacher"
            out.append(_say(lang, key, target=target, r=fmt_ratio(teacher, fp32),
                            s=f"{fp32:,.1f}", t=f"{teacher:,.1f}"))
        largest = max((b for m in bench.models.values() if not m.error for b in m.latency), default=None)
        rows = {name: _throughput(bench, name, largest) for name in ("student", "teacher")}
        if largest and largest > 1 and None not in rows.values():
            out.append(_say(lang, "throughput", target=target, b=largest, s=fmt_int(rows["student"]),
                            t=fmt_int(rows["teacher"]), r=_relative(rows["student"], rows["teacher"], lang)))
        for name in sorted(bench.models):
            if not name.startswith("student.") or fp32 is None:
                continue
            value = _p50(bench, name)
            if value is None or value == fp32:
                continue
            key = "variant_slower" if value > fp32 else "variant_faster"
            out.append(_say(lang, key, target=target, m=model_label(name), v=f"{value:,.1f}",
                            f=f"{fp32:,.1f}"))
        ratio = (_timings(bench, "student", 1) or {}).get("ratio_to_floor")
        if ratio is not None:
            key = "overhead" if ratio < OVERHEAD_RATIO else "compute_visible"
            out.append(_say(lang, key, target=target, p=f"{fp32:,.1f}", r=f"{ratio:.2f}"))
    return out
