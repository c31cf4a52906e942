"""`kdedge run`: distill → export (every variant, and the C student where gcc is installed) →
bench → report on one new run directory, then a short summary of what came out.

`run` takes the flags of the stages it runs, read from each stage's declared `PARAMETERS`: a
flag added to a stage is a flag of `run_all` without a second list (and of `kdedge run` once the
stage's own command offers it, which is where its help text lives). The rule for a name two
stages declare: it belongs to the first stage that declares it, in pipeline order, and the later stages
keep their own default. So `--target` is distill's label column (bench names the machine
itself), `--force` replaces distill's `--out` (the later stages then write into a fresh
directory), and `--threads` is training's torch thread count (bench measures on one onnxruntime
thread, edge-like; `kdedge bench RUN --threads N` measures again with more).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdedge import contract
from kdedge.contract import BenchReport, LatencyStats, Metrics, read_record
from kdedge.errors import KdedgeError
from kdedge.log import get_logger
from kdedge.params import Constraint, check_params

_log = get_logger()


@dataclass(frozen=True)
class Stage:
    """One stage `run` calls: its command name, module and public function."""

    name: str
    module: str
    function: str

    def load(self):
        """The stage's module (imported on first use: it imports torch or onnxruntime)."""
        return importlib.import_module(self.module)


STAGES = (Stage("distill", "kdedge.distill", "distill"),
          Stage("export", "kdedge.export.stage", "export_run"),
          Stage("bench", "kdedge.runtime.bench", "bench"),
          Stage("report", "kdedge.report.make", "make_report"))
# What `run` passes where the user gives nothing, when it differs from the stage's own default:
# every quantized variant. (`c` is decided by `c_student_wanted` unless --c/--noc is given.)
RUN_DEFAULTS = {"export": {"quantize": "all"}}


def flag_owners() -> dict[str, str]:
    """{flag: the stage it belongs to}: every name of every stage's PARAMETERS, the first stage
    in pipeline order owning a name two declare (see the module docstring)."""
    owners: dict[str, str] = {}
    for stage in STAGES:
        for name in stage.load().PARAMETERS:
            owners.setdefault(name, stage.name)
    return owners


def run_parameters() -> dict[str, Constraint]:
    """The constraint of every flag `run` takes, as its owning stage declares it."""
    stages = {stage.name: stage.load().PARAMETERS for stage in STAGES}
    return {name: stages[owner][name] for name, owner in flag_owners().items()}


PARAMETERS = run_parameters()  # what the CLI converts `run`'s flags with (imports the stages)


def route_flags(flags: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{stage: its flags}, each flag given to the stage that owns it; checked, before any work.

    Raises:
        KdedgeError: a name no stage declares (listing the valid ones), or a value its stage's
            constraint refuses.
    """
    owners = flag_owners()
    unknown = sorted(set(flags) - set(owners))
    if unknown:
        raise KdedgeError(f"`kdedge run` takes no flag {', '.join('--' + n for n in unknown)}; "
                          f"its flags: {', '.join('--' + n for n in owners)}")
    routed = {stage.name: dict(RUN_DEFAULTS.get(stage.name, {})) for stage in STAGES}
    for name, value in flags.items():
        routed[owners[name]][name] = value
    for stage in STAGES:
        check_params(stage.load().PARAMETERS, routed[stage.name])
    return routed


def run_all(**flags: Any) -> Path:
    """Run every stage on one new run directory; returns it.

    Args:
        **flags: any flag of distill, export, bench or report (`route_flags`); `quantize`
            defaults to all, `c` to whether gcc is installed.
    """
    routed = route_flags(flags)  # before minutes of training, not after
    from kdedge.export.quantize import parse_quantize

    export = routed["export"]
    variants = parse_quantize(export["quantize"])  # an unknown variant is refused now too
    export["c"] = c_student_wanted(export.get("c"))
    started = time.perf_counter()
    run_dir, bench_json = None, None
    for number, stage in enumerate(STAGES, start=1):
        _log.info(f"== stage {number}/{len(STAGES)}: {_stage_title(stage.name, variants, routed)}")
        clock = time.perf_counter()
        call = getattr(stage.load(), stage.function)
        result = call(**routed[stage.name]) if run_dir is None else call(run_dir,
                                                                         **routed[stage.name])
        run_dir = run_dir or Path(result)
        bench_json = result if stage.name == "bench" else bench_json
        _log.info(f"   done in {time.perf_counter() - clock:.1f}s")
    for line in summary_lines(run_dir, Path(bench_json), time.perf_counter() - started):
        _log.info(line)
    return run_dir


def _stage_title(name: str, variants: list[str], routed: dict[str, dict[str, Any]]) -> str:
    """The progress line of one stage."""
    if name == "distill":
        return "distill (teacher, ranking, students)"
    if name == "export":
        c = " + C student" if routed["export"]["c"] else ""
        return f"export to ONNX + quantize ({', '.join(variants) or 'none'}){c}"
    if name == "bench":
        return "bench under onnxruntime"
    return f"report ({routed['report'].get('lang', 'zh')})"


def c_student_wanted(requested: bool | None = None) -> bool:
    """Whether `kdedge run` exports the C student (`export_run(c=True)`): as --c/--noc say,
    else where gcc and `size` are installed; elsewhere it says why it skips it and runs every
    other stage. --c without them is refused before training."""
    from kdedge.runtime.c_bench import NATIVE, require_toolchain, toolchain_missing

    if requested is True:
        require_toolchain(NATIVE)
    if requested is not None:
        return requested
    why = toolchain_missing(NATIVE)
    if why is not None:
        _log.info(f"skipping the C student (kdedge export --c): {why}")
    return why is None


def _ratio(student: float, teacher: float) -> str:
    """`0.07x`: the student's figure as a multiple of the teacher's (n/a where the teacher's is 0:
    a GBDT teacher compares, it does not multiply)."""
    return f"{student / teacher:.2g}x" if teacher else "n/a"


def _batch_one(report: BenchReport, model: str) -> LatencyStats | None:
    """The fp32 `model`'s batch-1 timings in a bench report; None where it was not measured."""
    for benched in report.models.values():
        if (benched.model, benched.variant) == (model, "fp32") and "1" in benched.latency:
            return benched.latency["1"]
    return None


def summary_lines(run_dir: Path, bench_json: Path, seconds: float) -> list[str]:
    """What `kdedge run` ends with: accuracy and agreement, the student's size and batch-1
    latency relative to the teacher's, and where the report is (metrics.json, the bench JSON)."""
    metrics = read_record(Metrics, run_dir / contract.METRICS_JSON)
    bench = read_record(BenchReport, bench_json)
    teacher, student = metrics.teacher, metrics.student
    lines = [
        f"kdedge run finished in {seconds:.1f}s",
        f"  test accuracy: teacher {teacher.accuracy:.4f}, student {student.accuracy:.4f} "
        f"({student.n_features} of {teacher.n_features} features); agreement with the teacher "
        f"{metrics.agreement:.4f}",
        f"  student size: {_ratio(student.macs, teacher.macs)} the teacher's MACs "
        f"({student.macs:,} vs {teacher.macs:,}), {_ratio(student.params, teacher.params)} its "
        f"params ({student.params:,} vs {teacher.params:,})"]
    fast, slow = _batch_one(bench, "student"), _batch_one(bench, "teacher")
    if fast is None or slow is None:
        lines.append(f"  student batch-1 latency: not measured ({bench_json} says why)")
    else:
        lines.append(f"  student batch-1 latency: {_ratio(fast.p50_us, slow.p50_us)} the "
                     f"teacher's (p50 {fast.p50_us:.1f} vs {slow.p50_us:.1f} µs, onnxruntime on "
                     f"{bench.target})")
    lines.append(f"  report: {run_dir / contract.REPORT_HTML}")
    return lines
