"""kdedge.runtime.machine: target names and the emulation override."""

from __future__ import annotations

import re

import onnx
import onnxruntime as ort

import kdedge
from kdedge.contract import Machine
from kdedge.runtime.machine import default_target, describe_machine, is_emulated


def test_default_target_is_a_slug_and_marks_emulation(monkeypatch):
    monkeypatch.setenv("KDEDGE_EMULATED", "0")
    native = default_target()
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", native)
    monkeypatch.setenv("KDEDGE_EMULATED", "1")
    assert default_target() == f"{native}-emulated"


def test_is_emulated_follows_the_environment_override(monkeypatch):
    monkeypatch.setenv("KDEDGE_EMULATED", "1")
    assert is_emulated()[0] is True
    monkeypatch.setenv("KDEDGE_EMULATED", "no")
    assert is_emulated() == (False, "KDEDGE_EMULATED=0")


def test_describe_machine_has_the_versions(monkeypatch):
    monkeypatch.delenv("KDEDGE_EMULATED", raising=False)
    machine = describe_machine()
    assert machine.emulated is False  # this test machine is native
    assert machine.emulation_evidence.startswith("native")
    assert (machine.onnxruntime, machine.onnx, machine.kdedge) == (ort.__version__, onnx.__version__,
                                                                   kdedge.__version__)
    assert machine.cores >= machine.cores_usable >= 1
    assert "CPUExecutionProvider" in machine.providers_available
    assert Machine.from_json(machine.to_json()) == machine  # what the bench JSON holds parses back
