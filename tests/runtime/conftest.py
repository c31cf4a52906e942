"""Fixtures for the runtime tests: small kdedge-style ONNX models built with onnx.helper.

Each graph follows the export contract: input `features` float32 [batch, k], outputs
`probabilities` float32 [batch, C] and `label` int64 [batch], kdedge.* metadata_props
(`OnnxMetadata`). They stand in for models copied to a device, and for broken files; tests that
need a whole run (run.json, metrics.json) use a copy of the real session run `full_run`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from runtime_kit import make_device_dir


@pytest.fixture
def device_dir(tmp_path) -> Path:
    return make_device_dir(tmp_path / "device")


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def bench_warnings():
    """The messages `kdedge.bench` logs as warnings (shown even with --quiet), in order."""
    handler = _Collect()
    logger = logging.getLogger("kdedge.bench")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)
