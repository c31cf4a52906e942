"""Report: run directory → report.md, report.html, plots/.

`make_report` is imported lazily so `import kdedge.report` stays cheap; matplotlib and
scikit-learn are imported when a report is made. The report never imports torch.
"""

from __future__ import annotations

__all__ = ["make_report"]


def __getattr__(name: str):
    if name == "make_report":
        from kdedge.report.make import make_report

        return make_report
    raise AttributeError(f"module 'kdedge.report' has no attribute {name!r}")
