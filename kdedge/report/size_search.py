"""The report's account of how the student's size was chosen (search.json, `kdedge.search`).

For a searched student: the outcome in one sentence (worded here from the record, and distill's
own sentence quoted), the rule, the budget and whether it ran out, the screening and validation
rows, the refit, the transfer set, and a table of every candidate with the chosen one marked.
For a fixed student: one sentence saying no search ran, the fixed size and whether it keeps the
teacher. A search where no student met the target says so plainly, here, in the conclusions
(`search_findings`) and in the overall verdict (`search_flags`).

Everything comes from search.json and models.json through the formatters of `text.py`; the
report does not import `kdedge.search` (it imports torch).
"""

from __future__ import annotations

from kdedge.contract import Search, SearchCandidate
from kdedge.report.collect import Facts
from kdedge.report.render import Heading, Note, Para, Table
from kdedge.report.text import finding, fmt_float, fmt_int, fmt_metric, tr

PHASES = ("probe", "k", "size", "refit", "fixed")  # SearchCandidate.phase
REFIT = "refit"


def arch_text(lang: str, c: SearchCandidate) -> str:
    """k = 13, rank 13, head 64-32."""
    return tr(lang, "search_arch", k=c.k, rank=c.rank, head="-".join(map(str, c.hidden)))


def chosen_candidate(search: Search) -> SearchCandidate:
    """The screening fit the search picked (a fixed student's only fit); its refit on every
    row, when there is one, is the last candidate."""
    index = search.chosen if search.chosen is not None else 0
    return search.candidates[index]


def _values(search: Search, lang: str) -> dict[str, str]:
    """The chosen candidate's numbers, formatted, for the outcome sentences."""
    c = chosen_candidate(search)
    return dict(arch=arch_text(lang, c), macs=fmt_int(c.macs), params=fmt_int(c.params),
                a=fmt_metric(c.agreement), acc=fmt_metric(c.accuracy),
                ta=fmt_metric(c.teacher_accuracy), f=fmt_metric(search.fidelity))


def outcome(search: Search, lang: str) -> str:
    """The outcome in one sentence: the smallest that keeps the teacher, no student met the
    target, or no search (the fixed size, and whether it keeps the teacher)."""
    values = _values(search, lang)
    if search.mode == "fixed":
        verdict = tr(lang, "search_keeps") if search.met_target else tr(
            lang, "search_misses", f=values["f"])
        return tr(lang, "search_fixed", verdict=verdict, **values)
    fits = [c for c in search.candidates if c.phase != REFIT]
    key = "search_found" if search.met_target else "search_none"
    return tr(lang, key, n=len(fits), s=fmt_float(search.seconds), **values)


def transfer_text(facts: Facts, lang: str) -> str:
    """The students' transfer set (models.json kd.transfer, kd.transfer_rows), in `lang`."""
    kd, train = facts.run.models.kd, fmt_int(facts.metrics.data.split.train)
    if kd.transfer == "none":
        return tr(lang, "transfer_none", rows=train)
    if kd.transfer == "munge":
        return tr(lang, "transfer_munge", rows=fmt_int(kd.transfer_rows), train=train)
    return tr(lang, "transfer_other", method=kd.transfer, rows=fmt_int(kd.transfer_rows))


def _phase(lang: str, search: Search, index: int) -> str:
    phase = search.candidates[index].phase
    text = tr(lang, f"search_phase_{phase}") if phase in PHASES else phase
    return tr(lang, "search_chosen", p=text) if index == search.chosen else text


def _verdicts(lang: str, c: SearchCandidate) -> str:
    """accuracy: no detectable loss; recall: loss (binary data only)."""
    parts = [tr(lang, "search_accuracy_verdict", v=tr(lang, f"search_v_{c.verdict}"))]
    if c.recall_verdict is not None:
        parts.append(tr(lang, "search_recall_verdict", v=tr(lang, f"search_v_{c.recall_verdict}")))
    return tr(lang, "verdict_sep").join(parts)


def candidate_rows(search: Search, lang: str) -> list[list[str]]:
    """One row per candidate, in the order they ran: phase (the chosen one marked), k, rank,
    head, MACs, params, validation agreement, validation accuracy / the teacher's, the paired
    verdicts, keeps the teacher?, seconds."""
    return [[_phase(lang, search, i), str(c.k), str(c.rank), "-".join(map(str, c.hidden)),
             fmt_int(c.macs), fmt_int(c.params), fmt_metric(c.agreement),
             f"{fmt_metric(c.accuracy)} / {fmt_metric(c.teacher_accuracy)}", _verdicts(lang, c),
             tr(lang, "yes" if c.meets_target else "no"), fmt_float(c.seconds, 2)]
            for i, c in enumerate(search.candidates)]


def _search_details(search: Search, lang: str) -> list:
    """The rule, the budget and the candidates table of a search."""
    state = tr(lang, "search_budget_out" if search.budget_exhausted else "search_budget_left")
    headers = [tr(lang, h) for h in ("h_phase", "h_k", "h_factors", "h_head", "h_macs",
                                     "h_params", "h_val_agreement", "h_val_accuracy", "h_paired",
                                     "h_keeps", "h_seconds")]
    return [Para(tr(lang, "search_rule", f=fmt_metric(search.fidelity))),
            Para(tr(lang, "search_budget", b=fmt_float(search.budget_seconds),
                    s=fmt_float(search.seconds), state=state)),
            Table(headers, candidate_rows(search, lang), title=tr(lang, "search_table"))]


def search_section(facts: Facts, lang: str) -> list:
    """The sub-section "How the student's size was chosen"."""
    blocks: list = [Heading(tr(lang, "search_title"), 3)]
    search = facts.search
    if search is None:
        return blocks + [Note(tr(lang, "search_missing"))]
    logged = Para if search.met_target else Note  # a missed target is a callout
    blocks += [Para(outcome(search, lang)), logged(tr(lang, "search_logged", m=search.message))]
    rows = "search_rows_fixed" if search.mode == "fixed" else "search_rows"
    blocks.append(Para(tr(lang, rows, screen=fmt_int(search.screen_rows),
                          val=fmt_int(search.val_rows))))
    refits = [c for c in search.candidates if c.phase == REFIT]
    if refits:
        blocks.append(Para(tr(lang, "search_refit", rows=fmt_int(refits[-1].rows))))
    blocks.append(Para(tr(lang, "search_transfer", t=transfer_text(facts, lang))))
    if search.mode == "fixed":
        return blocks
    return blocks + _search_details(search, lang)


def search_findings(facts: Facts, lang: str) -> list[str]:
    """The conclusion when the student misses the target: no searched student met it, or the
    fixed-size one does not (nothing when it is met, or without search.json)."""
    search = facts.search
    if search is None or search.met_target:
        return []
    values = _values(search, lang)
    shared = dict(arch=values["arch"], a=values["a"], f=values["f"],
                  verdicts=_verdicts(lang, chosen_candidate(search)))
    if search.mode == "fixed":
        return [finding(lang, "search_fixed_misses", **shared)]
    budget = finding(lang, "search_budget_out", b=fmt_float(search.budget_seconds)) \
        if search.budget_exhausted else ""
    fits = [c for c in search.candidates if c.phase != REFIT]
    return [finding(lang, "search_no_target", n=len(fits), budget=budget, **shared)]


def search_flags(facts: Facts, lang: str) -> list[str]:
    """The overall verdict's clause when the student misses the size search's target."""
    search = facts.search
    if search is None or search.met_target:
        return []
    key = "overall_flag_fixed" if search.mode == "fixed" else "overall_flag_search"
    return [finding(lang, key, f=fmt_metric(search.fidelity))]


def search_message(facts: Facts) -> str | None:
    """distill's own outcome sentence, which metrics.json also lists among its warnings when the
    target was missed: the conclusions word it through `search_findings` instead of quoting it."""
    return None if facts.search is None else facts.search.message
