"""Describe the machine a bench runs on, and name it (the `<target>` of RUN/bench/<target>.json).

Emulation heuristic (qemu user mode, e.g. `scripts/arm_check.sh`): the environment variable
`KDEDGE_EMULATED` wins when set (1/true/yes or 0/false/no). Otherwise the run counts as emulated
when the CPU that /proc/cpuinfo describes belongs to another architecture than `platform.machine()`
(qemu-user passes the host's /proc/cpuinfo through: an aarch64 process that sees x86 `flags` or a
`vendor_id` line is translated), or when the interpreter runs under a qemu binfmt handler
(`/proc/sys/fs/binfmt_misc/qemu-<arch>` registered and `/proc/self/maps` naming qemu).

Load (`read_load`): the 1/5/15-minute load averages (`os.getloadavg`), the CPU time the
hypervisor stole over a short sample (the `steal` column of /proc/stat's `cpu` line, as `top`'s
`st`), and the usable cores; `is_overloaded` when the 1-minute load exceeds those cores.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import time
from pathlib import Path

import onnxruntime as ort

import kdedge
from kdedge.contract import LoadReading, Machine

# Arm "CPU part" ids (/proc/cpuinfo) → core names, for boards whose cpuinfo has no model name.
_ARM_PARTS = {
    "0xd03": "Cortex-A53", "0xd04": "Cortex-A35", "0xd05": "Cortex-A55", "0xd07": "Cortex-A57",
    "0xd08": "Cortex-A72", "0xd09": "Cortex-A73", "0xd0a": "Cortex-A75", "0xd0b": "Cortex-A76",
    "0xd0c": "Neoverse-N1", "0xd0d": "Cortex-A77", "0xd40": "Neoverse-V1", "0xd41": "Cortex-A78",
    "0xd42": "Cortex-A78AE", "0xd44": "Cortex-X1", "0xd46": "Cortex-A510", "0xd47": "Cortex-A710",
    "0xd48": "Cortex-X2", "0xd49": "Neoverse-N2", "0xd4b": "Cortex-A78C", "0xd4f": "Neoverse-V2",
}
_X86 = {"x86_64", "amd64", "i386", "i686"}
PROC_STAT = Path("/proc/stat")  # the kernel's CPU time counters (Linux)


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""


def _field(text: str, name: str) -> str | None:
    match = re.search(rf"^{re.escape(name)}\s*:\s*(.+)$", text, flags=re.MULTILINE | re.IGNORECASE)
    return match.group(1).strip() if match else None


def cpu_model() -> str:
    """A human CPU name: x86 `model name`, a board model (Raspberry Pi, Jetson) or an Arm core."""
    info = _cpuinfo()
    name = _field(info, "model name") or _field(info, "cpu model")
    if name:
        return name
    for path in ("/proc/device-tree/model", "/sys/firmware/devicetree/base/model"):
        try:
            board = Path(path).read_text(errors="replace").strip("\x00 \n")
        except OSError:
            continue
        if board:
            part = _field(info, "CPU part")
            return f"{board} {_ARM_PARTS.get(part, '')}".strip()
    part = _field(info, "CPU part")
    if part:
        return _ARM_PARTS.get(part.lower(), f"arm-part-{part}")
    if sys.platform == "darwin":
        import subprocess

        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, timeout=5).stdout.strip() or platform.processor()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or "unknown-cpu"


def is_emulated() -> tuple[bool, str]:
    """Whether this process runs under qemu user emulation, and why we think so."""
    override = os.environ.get("KDEDGE_EMULATED", "").strip().lower()
    if override in {"1", "true", "yes"}:
        return True, "KDEDGE_EMULATED=1"
    if override in {"0", "false", "no"}:
        return False, "KDEDGE_EMULATED=0"
    arch = platform.machine().lower()
    info = _cpuinfo()
    x86_cpu = bool(_field(info, "vendor_id")) or bool(re.search(r"^flags\s*:.*\bsse2\b", info, re.MULTILINE))
    if arch not in _X86 and x86_cpu:
        return True, f"/proc/cpuinfo describes an x86 CPU but platform.machine() is {arch}"
    if arch in _X86 and _field(info, "CPU implementer"):
        return True, f"/proc/cpuinfo describes an Arm CPU but platform.machine() is {arch}"
    if Path(f"/proc/sys/fs/binfmt_misc/qemu-{arch}").exists():
        try:
            if "qemu" in Path("/proc/self/maps").read_text(errors="replace"):
                return True, f"qemu-{arch} binfmt handler mapped into this process"
        except OSError:
            pass
    return False, "native (no qemu signs; set KDEDGE_EMULATED=1 to override)"


def default_target() -> str:
    """The bench file name for this machine: arch and CPU model, slugified (+ `-emulated`)."""
    emulated, _ = is_emulated()
    text = f"{platform.machine()} {cpu_model()}".lower()
    text = re.sub(r"\((r|tm)\)|\b(cpu|processor)\b|@.*$", " ", text)
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60].strip("-") or "unknown"
    return f"{slug}-emulated" if emulated else slug


def describe_machine() -> Machine:
    """The bench JSON's `machine`: hardware, OS, software versions, emulation."""
    import numpy
    import onnx

    emulated, why = is_emulated()
    return Machine(
        arch=platform.machine(), cpu_model=cpu_model(), cores=os.cpu_count(), cores_usable=usable_cores(),
        os=platform.platform(), hostname=platform.node(), python=platform.python_version(),
        kdedge=kdedge.__version__, onnxruntime=ort.__version__, onnx=onnx.__version__,
        numpy=numpy.__version__, providers_available=list(ort.get_available_providers()),
        emulated=emulated, emulation_evidence=why,
    )


def usable_cores() -> int | None:
    """Cores this process may run on (its affinity mask; os.cpu_count() where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def read_cpu_times() -> list[int] | None:
    """The aggregate `cpu` line of /proc/stat in clock ticks (user nice system idle iowait irq
    softirq steal ...), or None where there is no /proc/stat (macOS, BSD)."""
    try:
        with open(PROC_STAT, encoding="ascii", errors="replace") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":  # kernels before 2.6.11 have no steal column
        return None
    return [int(value) for value in fields[1:]]


def steal_percent(before: list[int] | None, after: list[int] | None) -> float | None:
    """Stolen share of the CPU time between two `read_cpu_times` readings, in %.

    The total is the first eight columns (guest time is already counted in user); None without
    both readings or when no tick passed.
    """
    if before is None or after is None:
        return None
    spent = [b - a for a, b in zip(before[:8], after[:8])]
    total = sum(spent)
    return round(100.0 * spent[7] / total, 2) if total > 0 else None


def read_load(*, sample_s: float = 0.2) -> LoadReading:
    """The machine's load now: load averages, steal over `sample_s` seconds, usable cores."""
    try:
        load_average = [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):  # no load average on this platform
        load_average = None
    before = read_cpu_times()
    if before is not None:
        time.sleep(sample_s)
    return LoadReading(load_average=load_average, steal_percent=steal_percent(before, read_cpu_times()),
                       cores=usable_cores())


def is_overloaded(reading: LoadReading | None) -> bool:
    """The 1-minute load average exceeds the usable cores: other work competes for the CPU."""
    if reading is None or reading.load_average is None or not reading.cores:
        return False
    return reading.load_average[0] > reading.cores
