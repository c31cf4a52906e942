"""Progress messages: one `logging` logger tree, `kdedge.<stage>`, configured once by the CLI.

Library code only logs (`get_logger("export").info(...)`); it never prints and takes no `quiet`
flag. Used as a library, kdedge therefore shows only warnings (Python's last-resort handler);
the `kdedge` command calls `configure` so progress lines reach stderr as `[export] message`,
and `--quiet` keeps warnings only. Standard library only.
"""

from __future__ import annotations

import logging
import sys

ROOT = "kdedge"


class _StageFormatter(logging.Formatter):
    """`[export] message` for logger kdedge.export; the bare message for `kdedge` itself."""

    def format(self, record: logging.LogRecord) -> str:
        stage = record.name[len(ROOT) + 1:] if record.name.startswith(ROOT + ".") else ""
        prefix = "WARNING " if record.levelno >= logging.WARNING else ""
        message = prefix + record.getMessage()
        return f"[{stage}] {message}" if stage else message


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the message (pytest swaps it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def get_logger(stage: str | None = None) -> logging.Logger:
    """The logger of one stage (`kdedge.distill`, `kdedge.export`, …) or of kdedge itself."""
    return logging.getLogger(f"{ROOT}.{stage}" if stage else ROOT)


def configure(*, quiet: bool = False) -> None:
    """Send kdedge's messages to stderr (INFO and up; WARNING and up when `quiet`).

    Idempotent: a second call replaces the handler this function installed earlier, and
    handlers other code added are left alone.
    """
    logger = logging.getLogger(ROOT)
    for handler in [h for h in logger.handlers if getattr(h, "_kdedge", False)]:
        logger.removeHandler(handler)
    handler = _StderrHandler()
    handler._kdedge = True  # type: ignore[attr-defined]
    handler.setFormatter(_StageFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
