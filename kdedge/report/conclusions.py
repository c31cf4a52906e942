"""Conclusions written from the numbers: each sentence is chosen by a comparison, not a template.

`conclusions(facts, lang)` returns one sentence per finding. The thresholds below are passed into
the sentences that quote them, so a sentence cannot state another value than the comparison used:
agreement below AGREEMENT_THRESHOLD, the student more than ACCURACY_DROP_POINTS below the teacher,
a call-overhead dominated batch-1 latency (p50 under OVERHEAD_RATIO × the floor of an empty call),
and a quantized variant judged by export.json's reject_threshold.

Noise rule: two models scored on the same n test rows differ in accuracy by Δ. Each accuracy has
standard error sqrt(p·(1−p)/n), so their difference has about sqrt(2·p·(1−p)/n), with p the mean
of the two accuracies. Δ is "within noise" unless |Δ| > 2·sqrt(2·p·(1−p)/n) (two standard errors,
~95%). Every accuracy comparison (student vs teacher, KD vs no-KD) says which side of that band it
is on; a KD gain within noise is reported as no evidence either way, and a drop beyond the
threshold that is within noise is not called a loss. A stale bench model (measured file differs
from what export recorded) gives no speed finding.
"""

from __future__ import annotations

import math

from kdedge import contract
from kdedge.report.collect import Bench, Facts, latency, model_label, usable
from kdedge.report.text import (fmt_float, fmt_int, fmt_metric, fmt_pct, fmt_points, fmt_ratio,
                                tr)

AGREEMENT_THRESHOLD = 0.98
# A student more than this below the teacher has lost accuracy: the same line export draws for a
# quantized variant against the fp32 student.
ACCURACY_DROP_POINTS = contract.REJECT_THRESHOLD
NOISE_STANDARD_ERRORS = 2.0  # |Δ| beyond 2 standard errors of the difference: not noise (~95%)
OVERHEAD_RATIO = 2.0  # p50 below 2× the floor: most of a call is fixed overhead, not the model


def _say(lang: str, key: str, **values) -> str:
    return tr(lang, f"finding.{key}", **values)


def accuracy_noise(accuracy_a: float, accuracy_b: float, n_rows: int) -> float:
    """The noise band of an accuracy difference between two models scored on the same `n_rows`
    test rows: 2·sqrt(2·p·(1−p)/n), p the mean of the two accuracies (module docstring)."""
    p = (accuracy_a + accuracy_b) / 2
    return NOISE_STANDARD_ERRORS * math.sqrt(2 * p * (1 - p) / n_rows)


def _noise_clause(lang: str, delta: float, a: float, b: float, n_rows: int) -> tuple[str, bool]:
    """The "within/beyond the noise" clause of the difference `delta` of accuracies `a`, `b`,
    and whether it is within."""
    noise = accuracy_noise(a, b, n_rows)
    within = abs(delta) <= noise
    return _say(lang, "noise_within" if within else "noise_beyond", n=fmt_int(n_rows),
                x=fmt_points(noise, signed=False)), within


def _accuracy_finding(facts: Facts, lang: str) -> str:
    """Student vs teacher: the drop threshold, qualified by the noise band of the test split."""
    s, t = facts.metrics.student.accuracy, facts.metrics.teacher.accuracy
    delta = s - t
    q, within = _noise_clause(lang, delta, s, t, facts.metrics.data.split.test)
    values = dict(s=fmt_metric(s), t=fmt_metric(t), q=q,
                  limit=fmt_points(ACCURACY_DROP_POINTS, signed=False))
    if delta < -ACCURACY_DROP_POINTS:
        return _say(lang, "acc_drop_noise" if within else "acc_drop",
                    d=fmt_points(delta, signed=False), **values)
    return _say(lang, "acc_close" if delta < 0 else "acc_better", d=fmt_points(delta), **values)


def _kd_finding(facts: Facts, lang: str) -> str:
    """KD vs no-KD student: improved / worse only beyond the noise band, else no evidence."""
    m = facts.metrics
    kd, no_kd = m.student.accuracy, m.student_no_kd.accuracy
    values = dict(kd=fmt_metric(kd), nokd=fmt_metric(no_kd))
    if m.kd_gain == 0:
        return _say(lang, "kd_same", **values)
    q, within = _noise_clause(lang, m.kd_gain, kd, no_kd, m.data.split.test)
    key = "kd_noise" if within else "kd_worse" if m.kd_gain < 0 else "kd_better"
    return _say(lang, key, g=fmt_points(m.kd_gain), q=q, **values)


def _distill_findings(facts: Facts, lang: str) -> list[str]:
    m = facts.metrics
    teacher, student = m.teacher, m.student
    key = "agree_low" if m.agreement < AGREEMENT_THRESHOLD else "agree_ok"
    return [
        _accuracy_finding(facts, lang), _kd_finding(facts, lang),
        _say(lang, key, a=fmt_metric(m.agreement), d=fmt_pct(1 - m.agreement),
             limit=fmt_metric(AGREEMENT_THRESHOLD)),
        _say(lang, "compressed", k=facts.k, n=facts.n, pr=fmt_ratio(teacher.params, student.params),
             pt=fmt_int(teacher.params), ps=fmt_int(student.params),
             mr=fmt_ratio(teacher.macs, student.macs), mt=fmt_int(teacher.macs),
             ms=fmt_int(student.macs)),
    ]


def conclusions(facts: Facts, lang: str) -> list[str]:
    """Sentences, in `lang`, that state what the measured numbers show."""
    out = _distill_findings(facts, lang) + _export_findings(facts, lang)
    for bench in facts.benches:
        out += _bench_findings(bench, lang)
    for stage, cmd in facts.missing.items():
        out.append(_say(lang, "missing", cmd=cmd, what=_say(lang, f"stage_{stage}")))
    return out


def _export_findings(facts: Facts, lang: str) -> list[str]:
    if facts.export is None:
        return []
    out = []
    models = facts.export.models
    limit = fmt_points(facts.export.reject_threshold, signed=False)
    for name, entry in models.items():
        label = model_label(name)
        if entry.parity is not None and not entry.parity.passed:
            out.append(_say(lang, "parity_failed", m=label))
        if entry.variant == "fp32":
            continue
        fp32 = models.get(entry.model)
        if fp32 is not None and entry.file_bytes > fp32.file_bytes:
            out.append(_say(lang, "variant_bigger", m=label, v=fmt_int(entry.file_bytes),
                            f=fmt_int(fp32.file_bytes)))
        if entry.verdict == "rejected":
            out.append(_say(lang, "variant_rejected", m=label, limit=limit,
                            r=str(entry.reason or "—").rstrip(".")))
        else:
            out.append(_say(lang, "variant_accepted", m=label, limit=limit,
                            a=fmt_metric(entry.metrics.accuracy), g=fmt_metric(entry.agreement_fp32)))
    return out


def _p50(bench: Bench, name: str, batch: int = 1) -> float | None:
    """A model's p50 at `batch` fit for a speed finding: None when missing, failed or stale."""
    stats = None if name in bench.stale else latency(usable(bench, name), batch)
    return None if stats is None else stats.p50_us


def _relative(student: float, teacher: float, lang: str) -> str:
    if student >= teacher:
        return _say(lang, "higher", r=fmt_float(student / teacher))
    return _say(lang, "lower", r=fmt_float(teacher / student))


def _bench_findings(bench: Bench, lang: str) -> list[str]:
    """What one bench shows; from an emulated one only that it is emulated."""
    out = []
    if bench.stale:
        out.append(_say(lang, "stale_bench", target=bench.target,
                        models=", ".join(model_label(n) for n in bench.stale)))
    if bench.emulated:  # translator timings: say so, and draw no speed conclusion from them
        return out + [_say(lang, "emulated", target=bench.target)]
    fp32, teacher = _p50(bench, "student"), _p50(bench, "teacher")
    if fp32 is not None and teacher is not None:
        key = "student_vs_teacher_speed" if fp32 < teacher else "student_slower_than_teacher"
        out.append(_say(lang, key, target=bench.target, r=fmt_ratio(teacher, fp32),
                        s=fmt_float(fp32), t=fmt_float(teacher)))
    out += _throughput_finding(bench, lang)
    if fp32 is None:
        return out
    for name in sorted(n for n in bench.models if n.startswith("student.")):
        value = _p50(bench, name)
        if value is not None and value != fp32:
            out.append(_say(lang, "variant_slower" if value > fp32 else "variant_faster",
                            target=bench.target, m=model_label(name), v=fmt_float(value),
                            f=fmt_float(fp32)))
    ratio = latency(usable(bench, "student"), 1).ratio_to_floor
    if ratio is not None:
        out.append(_say(lang, "overhead" if ratio < OVERHEAD_RATIO else "compute_visible",
                        target=bench.target, p=fmt_float(fp32), r=f"{ratio:.2f}",
                        limit=f"{OVERHEAD_RATIO:.2f}"))
    return out


def _throughput_finding(bench: Bench, lang: str) -> list[str]:
    """Student vs teacher rows/s at the largest batch size measured (above 1)."""
    largest = max(bench.batch_sizes, default=1)
    stats = {name: None if name in bench.stale else latency(usable(bench, name), largest)
             for name in ("student", "teacher")}
    if largest <= 1 or None in stats.values():
        return []
    student, teacher = (stats[n].throughput_rows_per_s for n in ("student", "teacher"))
    return [_say(lang, "throughput", target=bench.target, b=largest, s=fmt_int(student),
                 t=fmt_int(teacher), r=_relative(student, teacher, lang))]
