import json

import numpy as np
import pytest

from kdedge import contract
from kdedge.artifacts import load_run
from kdedge.contract import Search, SearchCandidate, read_record
from kdedge.distill import distill
from kdedge.fold import fold_model
from kdedge.models import build_model
from kdedge.search import (PROBE_HEADS, Architecture, Fitted, arch_macs, best_of, first_meeting,
                           k_ladder, size_chain)


def _candidate(macs: int, agreement: float, meets: bool, params: int = 0) -> Fitted:
    record = SearchCandidate(phase="size", k=1, rank=1, hidden=[8], params=params, macs=macs,
                             rows=1, epochs=1, agreement=agreement, accuracy=0.9,
                             teacher_accuracy=0.9, verdict="no_difference",
                             recall_verdict=None, meets_target=meets, seconds=0.0)
    return Fitted(arch=Architecture(1, 1, (macs,)), record=record, model=None, history={})


def test_k_ladder_ends_at_every_feature_and_honours_features():
    assert k_ladder(13, None) == [2, 3, 4, 6, 8, 12, 13]
    assert k_ladder(1, None) == [1]
    assert k_ladder(61, None)[-2:] == [48, 61]
    assert k_ladder(13, 5) == [5]


@pytest.mark.parametrize("k", [1, 3, 6, 13, 40])
def test_size_chain_only_grows(k):
    for top in PROBE_HEADS:
        chain = size_chain(k, top)
        assert chain[-1] == Architecture(k, k, top) and len(set(chain)) == len(chain)
        macs = [arch_macs(a, 2) for a in chain]
        assert macs == sorted(macs)
        for small, large in zip(chain, chain[1:]):
            assert small.rank <= large.rank and len(small.hidden) <= len(large.hidden)
            assert small.hidden[0] <= large.hidden[0]


def test_arch_macs_is_what_folding_counts():
    """The fixed-size default student: 6 inputs, rank 4, head 32, 2 classes = 216 MACs."""
    arch = Architecture(6, 4, (32,))
    student = build_model(contract.StudentConfig(n_features=6, n_classes=2, rank=4, hidden=[32]))
    scaler = contract.Scaler(mean=[0.0] * 6, scale=[1.0] * 6)
    assert arch_macs(arch, 2) == fold_model(student, scaler).macs == 216
    # rank = k: folding merges the factors into the head's first layer (10·256 < 100 + 2560)
    assert arch_macs(Architecture(10, 10, (256, 128)), 3) == 2560 + 32768 + 384
    full = build_model(contract.StudentConfig(n_features=10, n_classes=3, rank=10,
                                              hidden=[256, 128]))
    assert fold_model(full, contract.Scaler(mean=[0.0] * 10, scale=[1.0] * 10)).macs == \
        arch_macs(Architecture(10, 10, (256, 128)), 3)


@pytest.mark.parametrize("smallest_meeting", [0, 1, 5, 9, None])
def test_first_meeting_finds_the_smallest_in_log_fits(smallest_meeting):
    chain = list(range(10))
    fitted = []

    def fit(entry):
        fitted.append(entry)
        meets = smallest_meeting is not None and entry >= smallest_meeting
        return _candidate(entry, 0.9, meets)

    found, finished = first_meeting(chain, fit, over_budget=lambda: False)
    assert found == smallest_meeting and finished
    assert len(fitted) <= 4  # ceil(log2(10 + 1))


def test_first_meeting_stops_when_the_budget_runs_out():
    calls = []
    found, finished = first_meeting(list(range(10)), lambda e: calls.append(e) or
                                    _candidate(e, 0.9, e >= 2), over_budget=lambda: bool(calls))
    assert len(calls) == 1 and not finished and found == 5  # 5 met; nothing smaller was tried


def test_best_of_prefers_the_fewest_macs_that_meet_else_the_closest():
    fits = [_candidate(300, 0.99, True), _candidate(100, 0.985, True, params=9),
            _candidate(100, 0.99, True, params=5), _candidate(50, 0.9, False)]
    assert best_of(fits) is fits[2]
    misses = [_candidate(300, 0.95, False), _candidate(50, 0.97, False),
              _candidate(60, 0.97, False)]
    assert best_of(misses) is misses[1]


def test_searched_run_records_every_candidate_and_the_rule(searched_run):
    search = read_record(Search, searched_run / contract.SEARCH_JSON)
    run = load_run(searched_run)
    assert search.mode == "search" and search.fidelity == 0.98 and not search.budget_exhausted
    assert search.candidates[0].phase == "probe" and search.candidates[0].k == 13
    for c in search.candidates:
        keeps = ((c.agreement >= search.fidelity or c.verdict == "b_better")
                 and c.verdict != "b_worse" and c.recall_verdict != "b_worse")
        assert c.meets_target == keeps
        assert c.macs == arch_macs(Architecture(c.k, c.rank, tuple(c.hidden)), 2)
    winner = search.candidates[search.chosen]
    meeting = [c for c in search.candidates if c.meets_target]
    if meeting:
        assert (winner.macs, winner.params) == min((c.macs, c.params) for c in meeting)
    else:
        assert winner.agreement == max(c.agreement for c in search.candidates)
    assert search.met_target == winner.meets_target
    # small data: the screening rows are every training row, so the winner is the student
    student = run.models.student
    assert (student.n_features, student.rank, student.hidden) == (winner.k, winner.rank,
                                                                  winner.hidden)
    assert run.metrics.student.macs == winner.macs and search.screen_rows == 3200
    assert run.selected_features == run.metrics.selected_features[:winner.k]
    assert run.metrics.student_search == search.message
    assert (winner.meets_target) == (search.message not in run.metrics.warnings)


def test_search_is_deterministic(searched_run, tmp_path):
    again = distill(out=str(tmp_path / "again"), max_epochs=8, patience=3, teacher="gbdt",
                    search_seconds=600)
    first, second = (json.loads((run / contract.SEARCH_JSON).read_text()) for run in
                     (searched_run, again))
    for record in (first, second):
        record.pop("seconds")  # wall time; the message has none
        for c in record["candidates"]:
            c.pop("seconds")
    assert first == second
    assert (searched_run / "student.safetensors").read_bytes() == \
        (again / "student.safetensors").read_bytes()
    assert (searched_run / contract.METRICS_JSON).read_bytes() == \
        (again / contract.METRICS_JSON).read_bytes()


def test_search_out_of_budget_keeps_the_best_so_far_and_says_so(tmp_path):
    out = distill(out=str(tmp_path / "r"), max_epochs=2, patience=1, search_seconds=0,
                  transfer="none")
    search = read_record(Search, out / contract.SEARCH_JSON)
    assert search.budget_exhausted and len(search.candidates) == 1
    assert "search budget ran out (--search_seconds 0)" in search.message


def test_fixed_student_is_recorded_as_the_only_candidate(small_run):
    search = read_record(Search, small_run / contract.SEARCH_JSON)
    assert search.mode == "fixed" and search.chosen == 0 and len(search.candidates) == 1
    (only,) = search.candidates
    assert (only.phase, only.k, only.rank, only.hidden) == ("fixed", 6, 4, [32])
    assert "no size search was run" in search.message
    assert load_run(small_run).metrics.student_search is None


def test_rank_or_student_hidden_imply_a_fixed_student(tmp_path):
    out = distill(out=str(tmp_path / "r"), max_epochs=1, patience=1, rank=2, transfer="none")
    search = read_record(Search, out / contract.SEARCH_JSON)
    assert search.mode == "fixed" and search.candidates[0].rank == 2
    assert np.isfinite(search.candidates[0].agreement)


def test_judge_accepts_a_student_better_than_its_teacher_without_the_agreement_bar():
    """A teacher right on 80% of 1000 rows, a student right on 95% of them: agreement 0.75 is
    far below 0.98, yet the student keeps (exceeds) the teacher; a student as wrong as often
    as the teacher but on other rows does not."""
    from kdedge.search import Judge, judge_candidate
    from kdedge.verdicts import bootstrap_weights

    y = np.zeros(1000, dtype=int)
    teacher = np.where(np.arange(1000) < 800, 0, 1)
    better = np.where((np.arange(1000) < 750) | (np.arange(1000) >= 800), 0, 1)  # 950 right
    judge = Judge(teacher_labels=teacher, weights=bootstrap_weights(1000, seed=0), positive=None,
                  fidelity=0.98)
    verdict = judge_candidate(judge, y, better)
    assert verdict["verdict"] == "b_better" and verdict["agreement"] == 0.75
    assert verdict["meets_target"]
    same_rate = np.where(np.arange(1000) >= 200, 0, 1)  # 800 right, other rows
    assert not judge_candidate(judge, y, same_rate)["meets_target"]
