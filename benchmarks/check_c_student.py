"""Measure the C student's "what must hold" figures on a default run (one machine, one call).

    python benchmarks/check_c_student.py [RUN_DIR] [--no-arm] [--write FILE]

Without RUN_DIR it makes a default run (`kdedge.distill.distill` with its defaults, then
`export_run(..., quantize="all")`) in a temp folder, on one torch thread. Then it writes the C
student (`kdedge.export.c_student.export_c`: generated, compiled with gcc's strict flags, gated
against onnxruntime on every test row, measured with `size` and `-fstack-usage`), times it in C
beside onnxruntime's floor graph in the same call (`kdedge.runtime.c_bench.bench_c`), and runs
the aarch64 gate (Debian's cross gcc, `-static`, under qemu-aarch64-static; `--no-arm` leaves
it out). Exit 1 if a requirement fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported (distill)

from results import Check, finish, requirement_table  # noqa: E402

from kdedge.contract import CBench, CParity, CStudent  # noqa: E402
from kdedge.export.c_student import check_aarch64, export_c  # noqa: E402
from kdedge.runtime.c_bench import AARCH64, ToolchainMissing, bench_c, object_size  # noqa: E402

TOLERANCE = 1e-5
MAX_CODE_WEIGHTS_BYTES = 4096
MAX_STACK_BYTES = 1024
MAX_RATIO_TO_FLOOR = 0.1


def make_run(root: Path) -> Path:
    from kdedge.distill import distill
    from kdedge.export import export_run

    run = distill(out=str(root / "default"), force=True)
    export_run(run, quantize="all")
    return run


def parity_check(parity: CParity) -> Check:
    return (f"C = onnxruntime on {parity.rows} test rows, {parity.platform}: max abs Δp <= "
            f"{TOLERANCE:g}, labels identical",
            f"{parity.max_abs_diff:.2e}, labels identical: {parity.labels_identical}",
            parity.max_abs_diff <= TOLERANCE and parity.labels_identical)


def aarch64_checks(run: Path, c_dir: Path) -> list[Check]:
    """The aarch64 gate, and the aarch64 object's sizes (information, no requirement)."""
    try:
        parity = check_aarch64(run)
        with tempfile.TemporaryDirectory() as build:
            size = object_size(AARCH64, c_dir, "kdedge", Path(build))
    except ToolchainMissing as exc:
        return [("C = onnxruntime on aarch64 (qemu)", f"not run: {exc}", False)]
    return [parity_check(parity),
            ("aarch64 object: code + weights, stack (information)",
             f"{size.total} B, {size.stack_bytes} B", True)]


def requirements(record: CStudent, timing: CBench) -> list[Check]:
    """The x86 figures, each as (requirement, measured value, holds)."""
    return [
        parity_check(record.parity),
        (f"code + weights <= {MAX_CODE_WEIGHTS_BYTES} B (`size` text+data+bss of the -O2 object)",
         f"{record.code_weights_bytes} B ({record.text_bytes}+{record.data_bytes}+"
         f"{record.bss_bytes}; {4 * record.params} B of float32 weights)",
         record.code_weights_bytes <= MAX_CODE_WEIGHTS_BYTES),
        (f"stack <= {MAX_STACK_BYTES} B (-fstack-usage of kdedge_predict)",
         f"{record.stack_bytes} B ({record.stack_qualifier})",
         record.stack_bytes <= MAX_STACK_BYTES),
        ("C ns per call at batch 1 (median of blocks)",
         f"{timing.ns_per_call_p50:.1f} ns ({timing.blocks} blocks of {timing.calls_per_block})",
         True),
        ("onnxruntime floor p50 at batch 1 (same call)", f"{timing.floor_p50_ns:.0f} ns", True),
        ("onnxruntime student p50 at batch 1 (same call)", f"{timing.onnxruntime_p50_ns:.0f} ns",
         True),
        (f"C / onnxruntime floor <= {MAX_RATIO_TO_FLOOR}", f"{timing.ratio_to_floor:.4f}",
         timing.ratio_to_floor <= MAX_RATIO_TO_FLOOR),
        ("ns per MAC", f"{timing.ns_per_mac:.3f} ({timing.macs} MACs)", True),
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", nargs="?")
    parser.add_argument("--no-arm", action="store_true", help="leave out the aarch64 gate")
    parser.add_argument("--write", help="also write the results as markdown to this file")
    args = parser.parse_args()
    started = time.perf_counter()
    run = Path(args.run) if args.run else make_run(Path(tempfile.mkdtemp(prefix="kdedge-c-")))
    record = export_c(run, force=True)
    timing = bench_c(run)
    checks = requirements(record, timing)
    if not args.no_arm:
        checks += aarch64_checks(run, run / Path(record.source).parent)
    lines = [f"Measured {time.strftime('%Y-%m-%d')} by `python benchmarks/check_c_student.py` "
             f"({record.compiler}; {time.perf_counter() - started:.0f} s with the run).", "",
             *requirement_table(checks)]
    return finish("c-student", lines, checks, args.write)


if __name__ == "__main__":
    sys.exit(main())
