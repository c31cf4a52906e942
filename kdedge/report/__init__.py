"""Report: run directory → report.md, report.html, plots/."""
