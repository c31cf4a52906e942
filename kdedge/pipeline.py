"""`kdedge run`: distill → export (every variant) → bench → report on one new run directory."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def _stage(number: int, name: str, quiet: bool) -> float:
    if not quiet:
        print(f"== stage {number}/4: {name}", file=sys.stderr, flush=True)
    return time.perf_counter()


def _done(started: float, quiet: bool) -> None:
    if not quiet:
        print(f"   done in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)


def run_all(*, data: str | None = None, target: str | None = None, features: int | None = None,
            out: str | None = None, force: bool = False, seed: int = 0, lang: str = "zh",
            max_epochs: int = 150, quick: bool = False, quiet: bool = False) -> Path:
    """Run every stage with default settings; returns the run directory.

    Args:
        max_epochs: training epochs cap of teacher and students (early stopping ends sooner).
        quick: a short smoke bench whose timings are not for quoting.
    """
    from kdedge.distill import distill
    from kdedge.export import export_run
    from kdedge.report import make_report
    from kdedge.runtime.bench import bench

    if lang not in ("zh", "en"):  # checked before hours of work, not after
        from kdedge.rundir import KdedgeError

        raise KdedgeError(f"--lang must be zh or en, got {lang!r}")
    started = time.perf_counter()
    t = _stage(1, "distill (teacher, ranking, students)", quiet)
    run_dir = distill(data=data, target=target, features=features, out=out, force=force,
                      seed=seed, max_epochs=max_epochs)
    _done(t, quiet)
    t = _stage(2, "export to ONNX + quantize (int8, int8-static, fp16)", quiet)
    export_run(run_dir, quantize="all", quiet=quiet)
    _done(t, quiet)
    t = _stage(3, "bench under onnxruntime", quiet)
    bench(run_dir, quick=quick, quiet=quiet)
    _done(t, quiet)
    t = _stage(4, f"report ({lang})", quiet)
    report = make_report(run_dir, lang=lang, quiet=quiet)
    _done(t, quiet)
    if not quiet:
        print(f"kdedge run finished in {time.perf_counter() - started:.1f}s: {report}",
              file=sys.stderr, flush=True)
    return run_dir
