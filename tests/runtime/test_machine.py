"""kdedge.runtime.machine: target names, the emulation override and the load readings."""

from __future__ import annotations

import os
import re

import onnx
import onnxruntime as ort
import pytest

import kdedge
from kdedge.contract import LoadReading, Machine
from kdedge.runtime import machine as machine_module
from kdedge.runtime.machine import (default_target, describe_machine, is_emulated, is_overloaded,
                                    read_cpu_times, read_load, steal_percent)


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


# /proc/stat `cpu` lines 0.2 s apart, in ticks: user nice system idle iowait irq softirq steal guest
# guest_nice. Between them 200 ticks passed (60 user + 20 system + 100 idle + 20 steal); the 5
# guest ticks are already inside user and must not count twice.
_STAT_BEFORE = [1000, 0, 500, 8000, 100, 0, 0, 400, 50, 0]
_STAT_AFTER = [1060, 0, 520, 8100, 100, 0, 0, 420, 55, 0]


def test_steal_percent_known_answer():
    assert steal_percent(_STAT_BEFORE, _STAT_AFTER) == 10.0  # 20 of 200 ticks
    assert steal_percent(_STAT_BEFORE, _STAT_BEFORE) is None  # no tick passed
    assert steal_percent(None, _STAT_AFTER) is None


def test_read_cpu_times_parses_proc_stat_and_has_none_without_it(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    stat.write_text("cpu  " + " ".join(map(str, _STAT_BEFORE)) + "\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    monkeypatch.setattr(machine_module, "PROC_STAT", stat)
    assert read_cpu_times() == _STAT_BEFORE
    monkeypatch.setattr(machine_module, "PROC_STAT", tmp_path / "missing")  # macOS, BSD
    assert read_cpu_times() is None


@pytest.mark.parametrize("load_average,overloaded", [((3.0, 2.5, 1.0), True), ((2.0, 1.0, 1.0), False)])
def test_read_load_with_a_known_machine(monkeypatch, load_average, overloaded):
    readings = iter([_STAT_BEFORE, _STAT_AFTER])
    monkeypatch.setattr(machine_module.os, "getloadavg", lambda: load_average)
    monkeypatch.setattr(machine_module, "read_cpu_times", lambda: next(readings))
    monkeypatch.setattr(machine_module, "usable_cores", lambda: 2)
    reading = read_load(sample_s=0.0)
    assert reading == LoadReading(load_average=list(load_average), steal_percent=10.0, cores=2)
    assert is_overloaded(reading) is overloaded  # 1-minute load above the 2 usable cores


def test_is_overloaded_without_a_load_average():
    assert is_overloaded(None) is False
    assert is_overloaded(LoadReading(load_average=None, steal_percent=None, cores=2)) is False


def test_read_load_on_this_machine():
    reading = read_load(sample_s=0.05)
    assert reading.cores == len(os.sched_getaffinity(0))
    assert len(reading.load_average) == 3 and all(value >= 0 for value in reading.load_average)
    assert reading.steal_percent is None or 0 <= reading.steal_percent <= 100
