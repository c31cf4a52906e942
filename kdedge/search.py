"""The size search: the smallest student that keeps the teacher.

A candidate *keeps the teacher* when, on the validation rows, it agrees with the teacher's labels
on at least `fidelity` of them and a paired test (kdedge.verdicts) detects no accuracy loss
against the teacher — nor, on binary data, a loss of positive-class recall, where a minority
class can suffer behind flat accuracy. A candidate the paired test finds significantly *more*
accurate than the teacher passes the agreement bar too: it cannot copy errors it does not make. The test split is never looked at: it scores the winner.
"Smallest" is the fewest MACs of the folded graph, then the fewest parameters.

0. **probe** — on every feature (k = n, the ladder's last), students of rank n with the heads
   of PROBE_HEADS (64-32, 128-64, 256-128) in turn, until one keeps the teacher; its head is
   the largest any later candidate gets. If none does, no student here will: the search keeps
   the closest and says so.
1. **k** — over the ladder K_LADDER (and n itself), binary search for the smallest top-k of the
   ranking whose student of that head (rank k) keeps the teacher.
2. **size** — at that k, binary search over `size_chain(k)` (rank and head width growing
   together, then the two-layer heads up to the probe's) for the smallest student that keeps
   the teacher; then the same at the next k of the ladder among students with fewer MACs than
   the best so far (more inputs can let a much smaller head suffice), until CLIMB_PATIENCE k
   values in a row find none.

Each fit is a full early-stopped distillation on the screening rows: every training row up to
SCREEN_ROWS, else a seeded subsample of that many (and of VAL_ROWS validation rows), so the
search costs the same on 50k rows as on 5M. The winner is refitted on every row when the screening
rows were a subsample (kdedge.distill); otherwise its screening fit is the final student. A
wall-clock budget stops the search early; the best candidate found so far is then kept (the
smallest that keeps the teacher, else the highest agreement) and search.json says the budget ran
out. Binary search assumes a larger student is never worse; training noise can break that, so
the winner is "the smallest found", not a proof that nothing smaller exists.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from kdedge.contract import KDConfig, Scaler, Search, SearchCandidate, StudentConfig
from kdedge.fold import fold_model
from kdedge.log import get_logger
from kdedge.models import count_params
from kdedge.student import StreamedTrainingSet, TrainingSet, fit_student
from kdedge.train import TrainConfig, predict_logits, seeded
from kdedge.verdicts import bootstrap_weights, paired_accuracy, paired_recall

K_LADDER = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)
RANKS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
# two-layer heads tried on every feature, in turn, until one keeps the teacher: it becomes the
# largest student of the k and size phases (hastie's sum of ten squares needs 256-128)
PROBE_HEADS = ((64, 32), (128, 64), (256, 128))
SCREEN_ROWS = 10_000  # training rows of a screening fit at most
VAL_ROWS = 5_000  # validation rows candidates are judged on at most
CLIMB_PATIENCE = 2  # k values in a row without a smaller student before the size phase stops
RULE = ("probe: on every feature, heads 64-32, 128-64, 256-128 in turn until one keeps the "
        "teacher. k: the smallest k of the ladder {ladder} whose student with that head "
        "(rank k) keeps it (binary search). size: from that k upwards, the smallest student of "
        "the chain at k (rank and head width growing together, then two-layer heads up to the "
        "probe's) with fewer MACs than the best so far (binary search), until 2 k in a row "
        "find none. Keeps the teacher = validation agreement >= {fidelity} (or significantly "
        "more accurate than the teacher, paired) and no detectable paired loss of accuracy "
        "(and of positive-class recall on binary data). Winner: the "
        "fewest MACs (then params) that keeps it; if none does, the highest agreement.")
_log = get_logger("distill")


@dataclass(frozen=True)
class Architecture:
    """A student's size: k inputs (the top k of the ranking), rank gated factors, head widths."""

    k: int
    rank: int
    hidden: tuple[int, ...]

    def describe(self) -> str:
        return f"k={self.k} rank={self.rank} head={'-'.join(map(str, self.hidden))}"


@dataclass
class Judge:
    """What candidates are judged against: the teacher's labels on the validation rows."""

    teacher_labels: np.ndarray
    weights: np.ndarray  # bootstrap resamples of the validation rows (kdedge.verdicts)
    positive: int | None
    fidelity: float


@dataclass
class Fitted:
    """One candidate's fit: its record and, while it may still win, its model."""

    arch: Architecture
    record: SearchCandidate
    model: torch.nn.Module
    history: dict


def k_ladder(n_features: int, fixed_k: int | None) -> list[int]:
    """The k values the search may pick: `fixed_k` alone when --features was given."""
    if fixed_k is not None:
        return [fixed_k]
    return sorted({k for k in K_LADDER if k < n_features} | {n_features})


def head_width(rank: int) -> int:
    """The one-layer head for `rank` factors: about 4 units a factor, a power of two in 8..64."""
    return min(64, max(8, 2 ** math.ceil(math.log2(4 * rank))))


def size_chain(k: int, top: tuple[int, ...] = PROBE_HEADS[0]) -> list[Architecture]:
    """Students at k, smallest first, each at least as large as the one before in every
    dimension: rank and a one-layer head grow together, the head widens to 64, then two-layer
    heads of PROBE_HEADS up to `top` (the largest the search needed at k = n)."""
    chain = [Architecture(k, r, (head_width(r),)) for r in RANKS if r < k]
    chain += [Architecture(k, k, (head_width(k),)), Architecture(k, k, (64,))]
    chain += [Architecture(k, k, head) for head in PROBE_HEADS[:PROBE_HEADS.index(top) + 1]]
    unique: list[Architecture] = []
    for arch in chain:
        if arch not in unique:
            unique.append(arch)
    return unique


def make_judge(data: TrainingSet | StreamedTrainingSet, *, positive: int | None, fidelity: float, seed: int) -> Judge:
    return Judge(teacher_labels=data.teacher_val.argmax(axis=1),
                 weights=bootstrap_weights(len(data.y_val), seed=seed), positive=positive,
                 fidelity=fidelity)


def judge_candidate(judge: Judge, y_val: np.ndarray, labels: np.ndarray) -> dict:
    """Agreement, accuracy and the paired verdicts of one candidate on the validation rows."""
    accuracy = paired_accuracy(y_val, judge.teacher_labels, labels, a="teacher", b="student",
                               weights=judge.weights)
    recall = None if judge.positive is None else paired_recall(
        y_val, judge.teacher_labels, labels, judge.positive, a="teacher", b="student",
        weights=judge.weights)
    agreement = float(np.mean(labels == judge.teacher_labels))
    recall_verdict = None if recall is None else recall.verdict
    # A student significantly MORE accurate than its teacher cannot agree with the teacher's
    # errors: it keeps (exceeds) the teacher's quality, so it passes without the agreement bar.
    faithful = agreement >= judge.fidelity or accuracy.verdict == "b_better"
    meets = faithful and accuracy.verdict != "b_worse" and recall_verdict != "b_worse"
    return dict(agreement=agreement, accuracy=accuracy.value_b,
                teacher_accuracy=accuracy.value_a, verdict=accuracy.verdict,
                recall_verdict=recall_verdict, meets_target=meets)


def fit_candidate(arch: Architecture, phase: str, data: TrainingSet | StreamedTrainingSet,
                  order: list[int], scaler: Scaler, judge: Judge, *, n_classes: int, kd: KDConfig,
                  train: TrainConfig, seed: int, label: str | None = None) -> Fitted:
    """Distil `arch` on the screening rows and judge it on the validation rows."""
    started = time.perf_counter()
    columns = order[:arch.k]
    config = StudentConfig(n_features=arch.k, n_classes=n_classes, rank=arch.rank,
                           hidden=list(arch.hidden))
    with seeded(seed):
        model, history = fit_student(data, columns, config, kd=kd, train=train, seed=seed,
                                     label=label or "student", log_progress=label is not None)
    labels = predict_logits(model, data.X_val[:, columns]).argmax(axis=1)
    record = SearchCandidate(
        phase=phase, k=arch.k, rank=arch.rank, hidden=list(arch.hidden),
        params=count_params(model), macs=fold_model(model, scaler.subset(columns)).macs,
        rows=data.rows, epochs=history["epochs_run"],
        seconds=round(time.perf_counter() - started, 2),
        **judge_candidate(judge, data.y_val, labels))
    _log.info(f"  search {phase:<4} {arch.describe():<24} {record.macs:>6} MACs  agreement "
              f"{record.agreement:.4f}  {'keeps the teacher' if record.meets_target else '-'}"
              f"  ({record.seconds:.1f}s)")
    return Fitted(arch=arch, record=record, model=model, history=history)


def first_meeting(chain: list[Architecture], fit, over_budget) -> tuple[int | None, bool]:
    """(index of the smallest entry of `chain` found to keep the teacher or None, whether the
    binary search finished): entries are fitted with `fit(entry)` (cached by the caller) until
    the budget runs out; a larger entry is assumed never worse than a smaller one."""
    lo, hi = 0, len(chain)  # hi == len(chain): no entry known to meet yet
    while lo < hi and not over_budget():
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fit(chain[mid]).record.meets_target else (mid + 1, hi)
    return (hi if hi < len(chain) else None), lo >= hi


def arch_macs(arch: Architecture, n_classes: int) -> int:
    """MACs per sample of `arch`'s folded graph (factors, head layers, output layer) — what
    fold_model counts when no gate closes (kdedge.fold merges the low-rank pair into one dense
    layer when k·h < k·r + r·h); known before fitting, so the search can order by it."""
    k, r, first = arch.k, arch.rank, arch.hidden[0]
    low_rank = min(k * r + r * first, k * first)  # fold merges the pair where that is cheaper
    widths = [*arch.hidden, n_classes]
    return low_rank + sum(a * b for a, b in zip(widths, widths[1:]))


def best_of(fits: list[Fitted]) -> Fitted:
    """The smallest (MACs, then params) candidate that meets the target, else the one with the
    highest agreement (the smaller on ties)."""
    meeting = [f for f in fits if f.record.meets_target]
    if meeting:
        return min(meeting, key=lambda f: (f.record.macs, f.record.params))
    return min(fits, key=lambda f: (-f.record.agreement, f.record.macs, f.record.params))


@dataclass
class Screening:
    """Everything a candidate fit needs besides its architecture."""

    data: TrainingSet | StreamedTrainingSet  # the screening rows (every training row, or a
    # subsample)
    order: list[int]  # feature columns, most important first
    scaler: Scaler
    n_classes: int
    positive: int | None
    kd: KDConfig
    train: TrainConfig
    seed: int
    refit: bool = False  # the rows are a subsample: the winner is refitted on every row


def search_student(screen: Screening, *, n_features: int, fixed_k: int | None, fidelity: float,
                   budget_seconds: float) -> tuple[Search, Fitted]:
    """Run the search (module docstring) on the screening rows.

    Returns:
        (search.json's record, the winner's screening fit)
    """
    started = time.perf_counter()
    judge = make_judge(screen.data, positive=screen.positive, fidelity=fidelity, seed=screen.seed)
    fits: dict[Architecture, Fitted] = {}

    def fit(arch: Architecture, phase: str = "size") -> Fitted:
        if arch not in fits:
            fits[arch] = fit_candidate(arch, phase, screen.data, screen.order, screen.scaler,
                                       judge, n_classes=screen.n_classes, kd=screen.kd,
                                       train=screen.train, seed=screen.seed)
        return fits[arch]

    def over_budget() -> bool:
        return time.perf_counter() - started > budget_seconds

    ladder = k_ladder(n_features, fixed_k)
    top, finished = probe(ladder[-1], lambda a: fit(a, "probe"), over_budget)
    if top is not None:
        at, finished = first_meeting([Architecture(k, k, top) for k in ladder],
                                     lambda a: fit(a, "k"), over_budget)
        finished = finished and climb(ladder[at:], fit, over_budget, screen.n_classes, fits,
                                      top)
    winner = best_of(list(fits.values()))
    record = Search(
        mode="search", fidelity=fidelity, budget_seconds=float(budget_seconds),
        seconds=round(time.perf_counter() - started, 2), budget_exhausted=not finished,
        screen_rows=screen.data.rows - screen.data.transfer_rows,
        val_rows=len(screen.data.y_val),
        rule=RULE.format(ladder=ladder, fidelity=fidelity),
        candidates=[f.record for f in fits.values()],
        chosen=list(fits.values()).index(winner), met_target=winner.record.meets_target,
        message="")
    record.message = search_message(record, winner)
    return record, winner


def probe(k: int, fit, over_budget) -> tuple[tuple[int, ...] | None, bool]:
    """(the first of PROBE_HEADS whose student on the top k = the most features keeps the
    teacher, or None; whether the probe finished within the budget)."""
    for head in PROBE_HEADS:
        if fit(Architecture(k, k, head)).record.meets_target:
            return head, True
        if over_budget():
            return None, head == PROBE_HEADS[-1]
    return None, True


def climb(ks: list[int], fit, over_budget, n_classes: int, fits: dict[Architecture, Fitted],
          top: tuple[int, ...]) -> bool:
    """The size phase: from the smallest k that keeps the teacher upwards, the smallest student
    of size_chain(k) with fewer MACs than the best found so far (binary search). Stops when no
    student at k could have fewer MACs, or after CLIMB_PATIENCE k values in a row found none
    smaller. Returns whether it finished within the budget."""
    without_gain = 0
    for k in ks:
        best = best_of(list(fits.values()))
        chain = [a for a in size_chain(k, top)
                 if arch_macs(a, n_classes) < best.record.macs]
        if not chain:
            return True
        found, finished = first_meeting(chain, fit, over_budget)
        if not finished:
            return False
        without_gain = 0 if found is not None else without_gain + 1
        if without_gain >= CLIMB_PATIENCE:
            return True
    return True


def fixed_student(screen: Screening, arch: Architecture, *,
                  fidelity: float) -> tuple[Search, Fitted]:
    """The fixed-size student (--student fixed, --rank or --student_hidden), fitted and judged
    the same way, recorded as search.json's only candidate."""
    judge = make_judge(screen.data, positive=screen.positive, fidelity=fidelity, seed=screen.seed)
    fitted = fit_candidate(arch, "fixed", screen.data, screen.order, screen.scaler, judge,
                           n_classes=screen.n_classes, kd=screen.kd, train=screen.train,
                           seed=screen.seed, label="student")
    record = Search(
        mode="fixed", fidelity=fidelity, budget_seconds=0.0, seconds=fitted.record.seconds,
        budget_exhausted=False, screen_rows=screen.data.rows - screen.data.transfer_rows,
        val_rows=len(screen.data.y_val), rule="fixed size: no search",
        candidates=[fitted.record], chosen=0, met_target=fitted.record.meets_target, message="")
    record.message = search_message(record, fitted)
    return record, fitted


def search_message(record: Search, winner: Fitted) -> str:
    """The outcome in one sentence, for stderr, metrics.json and the report; no wall times
    (search.json has them), so the same command writes the same metrics.json."""
    c = winner.record
    what = (f"{winner.arch.describe()} ({c.macs} MACs, {c.params} params): validation "
            f"agreement {c.agreement:.4f} with the teacher, accuracy {c.accuracy:.4f} vs the "
            f"teacher's {c.teacher_accuracy:.4f}")
    if record.mode == "fixed":
        verdict = "keeps" if c.meets_target else "does NOT keep"
        return (f"fixed-size student {what}; it {verdict} the teacher (target: agreement >= "
                f"{record.fidelity} and no detectable paired loss); no size search was run")
    budget = (" before the search budget ran out (--search_seconds "
              f"{record.budget_seconds:g})") if record.budget_exhausted else ""
    if c.meets_target:
        return (f"size search ({len(record.candidates)} students): the smallest that keeps "
                f"the teacher found{budget} is {what}")
    return (f"size search ({len(record.candidates)} students): NO "
            f"student met the target (agreement >= {record.fidelity} and no detectable paired "
            f"loss){budget}; kept the closest, {what}. Try more --features, a larger "
            "--search_seconds, or --teacher gbdt; or accept the gap the report shows")
