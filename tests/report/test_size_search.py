"""Tests of kdedge/report/size_search.py: how the report says the student's size was chosen, on
the real searched run (`searched_run`: a GBDT teacher and the size search) and the fixed-size
one (`small_run`); a search where no student met the target is planted in the real record."""

from __future__ import annotations

import pytest

from kdedge.report.conclusions import conclusions
from kdedge.report.overall import overall_verdict
from kdedge.report.render import Note, Para, Table, render_markdown
from kdedge.report.sections import build_document
from kdedge.report.size_search import candidate_rows, search_section
from kdedge.rundir import read_json

HEADERS = ["Phase", "k (inputs)", "Rank", "Head", "MACs", "Parameters", "Val. agreement",
           "Val. accuracy / teacher's", "Paired vs teacher", "Keeps the teacher?", "Seconds"]
VERDICTS = {"b_worse": "loss", "no_difference": "no detectable loss", "b_better": "gain"}


def _missed(facts):
    """The real search record with every candidate (and so the winner) missing the target."""
    for candidate in facts.search.candidates:
        candidate.meets_target = False
    facts.search.met_target = False
    return facts


def test_search_section_table_numbers_equal_search_json(searched_facts, searched_run):
    raw = read_json(searched_run / "search.json")
    assert raw["mode"] == "search" and len(raw["candidates"]) > 1
    table = next(b for b in search_section(searched_facts, "en") if isinstance(b, Table))
    assert table.headers == HEADERS and len(table.rows) == len(raw["candidates"])
    for i, (row, c) in enumerate(zip(table.rows, raw["candidates"])):
        phase = c["phase"] + (" ★ chosen" if i == raw["chosen"] else "")
        verdicts = f"accuracy: {VERDICTS[c['verdict']]}, recall: {VERDICTS[c['recall_verdict']]}"
        assert row == [phase, str(c["k"]), str(c["rank"]), "-".join(map(str, c["hidden"])),
                       f"{c['macs']:,}", f"{c['params']:,}", f"{c['agreement']:.4f}",
                       f"{c['accuracy']:.4f} / {c['teacher_accuracy']:.4f}", verdicts,
                       "yes" if c["meets_target"] else "no", f"{c['seconds']:,.2f}"]


def test_search_section_outcome_budget_rows_and_transfer(searched_facts, searched_run):
    raw = read_json(searched_run / "search.json")
    c = raw["candidates"][raw["chosen"]]
    text = render_markdown(search_section(searched_facts, "en"))
    assert raw["met_target"]  # the default data keeps its GBDT teacher
    fits = sum(1 for x in raw["candidates"] if x["phase"] != "refit")
    assert (f"The size search trained {fits} candidate students in {raw['seconds']:,.1f} s and "
            f"chose the smallest that keeps the teacher: k = {c['k']}, rank {c['rank']}, head "
            f"{'-'.join(map(str, c['hidden']))} ({c['macs']:,} MACs, {c['params']:,} parameters), "
            f"validation agreement {c['agreement']:.4f}") in text
    assert f"As distill logged it: “{raw['message']}”" in text
    assert (f"Budget: {raw['budget_seconds']:,.1f} s of candidate fits (--search_seconds); they "
            f"took {raw['seconds']:,.1f} s: the search finished within it.") in text
    assert (f"fitted on {raw['screen_rows']:,} training rows (the screening rows) and judged "
            f"against the teacher on {raw['val_rows']:,} validation rows") in text
    assert "Transfer set: none: the students learn from the 3,200 real training rows only." in text
    assert "agreement of at least 0.9800" in text  # the rule, with the fidelity


def test_search_section_fixed_student_one_line_no_table(facts, small_run):
    raw = read_json(small_run / "search.json")
    assert raw["mode"] == "fixed"
    blocks = search_section(facts, "en")
    assert not any(isinstance(b, Table) for b in blocks)
    text = render_markdown(blocks)
    assert ("No size search was run: the student has the fixed size k = 6, rank 4, head 32 "
            f"({raw['candidates'][0]['macs']:,} MACs, {raw['candidates'][0]['params']:,} "
            "parameters; --student fixed, --rank or --student_hidden).") in text
    assert "Budget:" not in text and "Rule:" not in text
    zh = render_markdown(search_section(facts, "zh"))
    assert "未进行规模搜索：学生模型为固定规模 k = 6，秩 4，头部 32" in zh


def test_search_section_no_target_said_plainly(searched_facts):
    blocks = search_section(_missed(searched_facts), "en")
    outcome = next(b for b in blocks if isinstance(b, Para) and b.text.startswith("No student"))
    assert outcome.text.startswith("No student met the target: the size search trained")
    assert any(isinstance(b, Note) and b.text.startswith("As distill logged it") for b in blocks)
    zh = render_markdown(search_section(searched_facts, "zh"))
    assert "没有学生模型达到目标" in zh


def test_search_no_target_in_conclusions_and_overall_verdict(searched_facts):
    facts = _missed(searched_facts)
    facts.search.budget_exhausted = True
    found = [s for s in conclusions(facts, "en") if s.startswith("No student met")]
    assert len(found) == 1 and f"before the budget of {facts.search.budget_seconds:,.1f} s ran out" \
        in found[0]
    assert ("but no student of the size search met the target (validation agreement of at least "
            "0.9800 with no detectable paired loss)") in overall_verdict(facts, "en")
    assert "规模搜索中没有学生模型达到目标" in overall_verdict(facts, "zh")
    assert any(s.startswith("没有学生模型达到规模搜索的目标") for s in conclusions(facts, "zh"))


def test_search_miss_replaces_distill_warning_quote(facts):
    """metrics.json lists a missed target's message among its warnings: the conclusions word it
    in the report's language instead of quoting it a second time."""
    facts.search.met_target = False  # as distill records a miss (the short session run misses)
    if facts.search.message not in facts.metrics.warnings:
        facts.metrics.warnings.append(facts.search.message)
    found = conclusions(facts, "en")
    assert not any(facts.search.message in s for s in found)
    assert sum(s.startswith("The fixed-size student (k = 6, rank 4, head 32) misses the target")
               for s in found) == 1
    assert "the fixed-size student misses the target" in overall_verdict(facts, "en")


def test_search_met_target_no_flag(searched_facts):
    assert searched_facts.search.met_target
    assert "size search" not in overall_verdict(searched_facts, "en")
    assert not any("size search" in s for s in conclusions(searched_facts, "en"))


def test_search_section_without_search_json(searched_facts):
    searched_facts.search = None  # a run distill made before it wrote search.json
    (heading, note) = search_section(searched_facts, "en")
    assert isinstance(note, Note) and note.text.startswith("No search.json")


def test_search_section_names_munge_transfer(searched_facts):
    kd = searched_facts.run.models.kd
    kd.transfer, kd.transfer_rows = "munge", 3200
    text = render_markdown(search_section(searched_facts, "en"))
    assert ("Transfer set: MUNGE (Bucilă, Caruana & Niculescu-Mizil 2006): 3,200 synthetic rows "
            "labelled only by the teacher's soft targets") in text


def test_candidate_rows_mark_only_the_chosen(searched_facts):
    rows = candidate_rows(searched_facts.search, "zh")
    marked = [i for i, row in enumerate(rows) if "★" in row[0]]
    assert marked == [searched_facts.search.chosen]


@pytest.mark.parametrize("lang, heading", [("en", "### How the student's size was chosen"),
                                           ("zh", "### 学生模型规模的选择")])
def test_build_document_search_in_the_student_section(searched_facts, lang, heading):
    text = render_markdown(build_document(searched_facts, lang=lang, plots=set()))
    section = text.split("## 3. ")[1].split("## 4. ")[0]
    assert heading in section
