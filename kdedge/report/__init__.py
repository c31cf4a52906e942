"""Report: run directory → report.md, report.html, plots/.

`make_report` is imported lazily so `import kdedge.report` stays cheap (no matplotlib/torch);
the plotting and torch imports happen when a report is made.
"""

from __future__ import annotations

__all__ = ["make_report"]


def __getattr__(name: str):
    if name == "make_report":
        from kdedge.report.make import make_report

        return make_report
    raise AttributeError(f"module 'kdedge.report' has no attribute {name!r}")
