"""`kdedge run`: distill → export (every variant, and the C student where gcc is installed) →
bench → report on one new run directory."""

from __future__ import annotations

import time
from pathlib import Path

from kdedge.log import get_logger
from kdedge.params import Flag, OneOf, Optional, Text, Whole, check_params
from kdedge.report.text import LANGS

PARAMETERS = {"data": Optional(Text()), "target": Optional(Text()), "features": Optional(Whole(1)),
              "positive": Optional(Text()), "out": Optional(Text()), "force": Flag(),
              "seed": Whole(0), "lang": OneOf(LANGS), "max_epochs": Whole(1), "quick": Flag(),
              "threads": Whole(1)}
_log = get_logger()


def run_all(*, data: str | None = None, target: str | None = None, features: int | None = None,
            positive: str | None = None, out: str | None = None, force: bool = False,
            seed: int = 0, lang: str = "zh", max_epochs: int = 150, quick: bool = False,
            threads: int = 1) -> Path:
    """Run every stage with default settings; returns the run directory.

    Args:
        positive: binary data: the positive class's label (default: the training split's
            minority class).
        max_epochs: training epochs cap of teacher and students (early stopping ends sooner).
        quick: a short smoke bench whose timings are not for quoting.
    """
    check_params(PARAMETERS, locals())  # before minutes of training, not after
    from kdedge.distill import distill
    from kdedge.export import export_run
    from kdedge.report import make_report
    from kdedge.runtime.bench import bench

    started = time.perf_counter()
    c = c_student_wanted()
    stages = (
        ("distill (teacher, ranking, students)",
         lambda _: distill(data=data, target=target, features=features, positive=positive,
                           out=out, force=force, seed=seed, max_epochs=max_epochs,
                           threads=threads)),
        ("export to ONNX + quantize (int8, int8-static, fp16)" + (" + C student" if c else ""),
         lambda run: export_run(run, quantize="all", c=c)),
        ("bench under onnxruntime", lambda run: bench(run, quick=quick)),
        (f"report ({lang})", lambda run: make_report(run, lang=lang)),
    )
    run_dir = None
    for number, (name, stage) in enumerate(stages, start=1):
        _log.info(f"== stage {number}/{len(stages)}: {name}")
        clock = time.perf_counter()
        result = stage(run_dir)
        run_dir = run_dir or result
        _log.info(f"   done in {time.perf_counter() - clock:.1f}s")
    _log.info(f"kdedge run finished in {time.perf_counter() - started:.1f}s: {run_dir}")
    return run_dir


def c_student_wanted() -> bool:
    """Whether `kdedge run` exports the C student (`export_run(c=True)`): where gcc and `size`
    are installed; elsewhere it says why it skips it and runs every other stage."""
    from kdedge.runtime.c_bench import NATIVE, toolchain_missing

    why = toolchain_missing(NATIVE)
    if why is not None:
        _log.info(f"skipping the C student (kdedge export --c): {why}")
    return why is None
