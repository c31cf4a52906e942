"""Shared output of the check scripts: a requirement table, printed and optionally saved."""

from __future__ import annotations

from pathlib import Path

Check = tuple[str, str, bool]  # (requirement, measured value, holds)


def requirement_table(checks: list[Check]) -> list[str]:
    lines = ["| requirement | measured | holds |", "|---|---|---|"]
    return lines + [f"| {name} | {value} | {'yes' if ok else '**NO**'} |" for name, value, ok in checks]


def finish(stage: str, lines: list[str], checks: list[Check], write: str | None) -> int:
    """Print the results, save them as markdown when asked; exit status 1 if a check failed."""
    text = "\n".join(lines)
    print(text)
    if write:
        Path(write).write_text(f"# {stage}: measured figures\n\n{text}\n")
    return 0 if all(ok for _, _, ok in checks) else 1
