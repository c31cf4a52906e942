"""The `kdedge` command: a thin python-fire layer over the stage functions.

Each method imports its stage lazily, so `kdedge --help` and `kdedge bench` never import torch.
"""

from __future__ import annotations

import difflib
import errno
import importlib
import inspect
import sys

import fire

from kdedge.log import configure as configure_logging
from kdedge.params import TextList, from_cli
from kdedge.rundir import KdedgeError


class KdedgeCLI:
    """Distil a tabular classifier into a small k-feature student, export it, measure it, report it.

    Stages: distill → export → bench → report (`run` does all four on one run directory).
    """

    def distill(self, data: str | None = None, target: str | None = None,
                features: int | None = None, positive: str | None = None,
                out: str | None = None, force: bool = False, seed: int = 0,
                test_size: float = 0.2, val_size: float = 0.2,
                teacher_hidden: tuple = (256, 128), rank: int | None = None,
                student_hidden: tuple = (32,), temperature: float = 4.0, alpha: float = 0.5,
                max_epochs: int = 150, patience: int = 15, batch_size: int = 128,
                lr: float = 3e-3, threads: int = 1, quiet: bool = False) -> str:
        """Train the teacher, rank features, distil a student on the top `features`; write a run dir.

        Args:
            data: omit for the built-in default; wine, breast_cancer, digits, iris; or a CSV/Parquet path.
            target: the label column (required for a file).
            features: k, how many top-ranked features the student reads (default 6, or all
                columns when there are fewer).
            positive: binary data: the label of the positive class, whose recall, precision,
                ROC-AUC and PR-AUC are reported (default: the training split's minority class).
            out: the run directory (default: a new folder under runs/); never replaced without --force.
            rank: the student's number of gated factors (default ceil(2k/3); the same
                student on all n features, scored for comparison, gets ceil(2n/3)).
            temperature: KD temperature T.
            alpha: weight of the hard-label cross-entropy (1 - alpha on the soft KD term).
            threads: torch intra-op threads (default 1: models this small only spin a second).
        """
        return _stage("kdedge.distill", "distill", quiet, locals())

    def export(self, run_dir: str, quantize: str | bool | None = None, force: bool = False,
               c: bool = False, quiet: bool = False) -> str:
        """Export teacher and student to RUN_DIR/onnx/ (parity-gated); optionally quantize the student.

        Args:
            run_dir: a run directory written by `kdedge distill`.
            quantize: int8, int8-static, fp16 or all (`--quantize` alone means int8).
            force: replace an existing RUN_DIR/onnx/ (and RUN_DIR/c/).
            c: also write the student as dependency-free C99, RUN_DIR/c/kdedge.{h,c}, compiled
                with gcc and checked against onnxruntime on the test split.
        """
        return _stage("kdedge.export.stage", "export_run", quiet, locals())

    def bench(self, path: str, target: str | None = None, batch_sizes: tuple = (1, 32, 1024),
              threads: int = 1, opt_level: str = "all", out: str | None = None,
              force: bool = False, quick: bool = False, min_time: float | None = None,
              min_reps: int | None = None, max_time: float | None = None,
              quiet: bool = False) -> str:
        """Measure every ONNX model in PATH (a run directory or a folder of .onnx files).

        Args:
            target: name of this machine in the results (default: arch and CPU model).
            batch_sizes: rows per call, e.g. 1,32,1024.
            threads: onnxruntime intra-op threads (1 is edge-like).
            opt_level: onnxruntime graph optimisation: disable, basic, extended or all.
            out: the JSON file or folder to write (default RUN_DIR/bench/<target>.json).
            quick: a short smoke measurement (not for quoting).
            min_time: seconds of timed calls per model and batch size, at least (docs/bench.md).
            min_reps: timed calls per model and batch size, at least.
            max_time: seconds of timed calls per model and batch size, at most.
        """
        return _stage("kdedge.runtime.bench", "bench", quiet, locals())

    def report(self, run_dir: str, lang: str = "zh", bench: str | tuple | None = None,
               quiet: bool = False) -> str:
        """Write RUN_DIR/report.md, report.html and plots/ from whatever stages have run.

        Args:
            lang: zh (default, as the seed report) or en.
            bench: extra bench JSON files from other devices (repeat --bench FILE, or FILE,FILE).
        """
        values = dict(run_dir=run_dir, lang=lang, bench_files=TextList().from_cli(bench or []))
        return _stage("kdedge.report.make", "make_report", quiet, values)

    def run(self, data: str | None = None, target: str | None = None, features: int | None = None,
            positive: str | None = None, out: str | None = None, force: bool = False,
            seed: int = 0, lang: str = "zh", max_epochs: int = 150, quick: bool = False,
            threads: int = 1, quiet: bool = False) -> str:
        """distill → export (all variants, + the C student where gcc is installed) → bench → report.

        Args:
            positive: binary data: the positive class's label (default: the minority class).
            lang: zh (default) or en.
            max_epochs: training epochs cap (early stopping usually ends sooner).
            threads: torch intra-op threads for training (default 1).
            quick: a short smoke bench whose timings are not for quoting.
        """
        return _stage("kdedge.pipeline", "run_all", quiet, locals())

    def predict(self, path: str, data: str, model: str | None = None, out: str | None = None,
                target: str | None = None, keep: str | tuple | None = None,
                force: bool = False, chunk_rows: int = 16384, quiet: bool = False) -> str:
        """Score DATA (CSV/Parquet) with an exported model: labels and probabilities per row.

        Args:
            path: a run directory (its onnx/ graphs) or an .onnx file.
            data: a .csv/.tsv or .parquet file; columns are matched to the model's inputs by name.
            model: which graph of the run, by stem: student (default), student.int8, teacher, ...
            out: the .csv or .parquet to write (default next to DATA: <stem>.predictions.csv).
            target: a label column to score against (accuracy and confusion matrix printed).
            keep: columns copied to the output, e.g. id,name.
            force: replace an existing --out.
            chunk_rows: rows read, scored and written at a time.
        """
        return _stage("kdedge.runtime.predict", "predict", quiet, locals())


def _stage(module: str, function: str, quiet: bool, values: dict) -> str:
    """The CLI boundary, the same for every command: configure progress logging, turn fire's
    parsed values into the stage's types (its PARAMETERS), call the stage, return its path."""
    stage = importlib.import_module(module)  # lazily: `kdedge --help` imports no torch
    configure_logging(quiet=quiet)
    values = {k: v for k, v in values.items() if k not in ("self", "quiet")}
    return str(getattr(stage, function)(**from_cli(getattr(stage, "PARAMETERS", {}), values)))


def _join_repeated(argv: list[str], flag: str = "--bench") -> list[str]:
    """Fire keeps only the last of a repeated flag: turn `--bench a --bench b` into `--bench=a,b`."""
    values, rest, i = [], [], 0
    while i < len(argv):
        if argv[i] == flag and i + 1 < len(argv):
            values.append(argv[i + 1])
            i += 2
            continue
        if argv[i].startswith(flag + "="):
            values.append(argv[i].split("=", 1)[1])
        else:
            rest.append(argv[i])
        i += 1
    return rest + ([f"{flag}={','.join(values)}"] if values else [])


def _check_flags(argv: list[str]) -> None:
    """Refuse an unknown --flag before any work: fire would run the stage first, then complain."""
    command = next((a for a in argv if not a.startswith("-")), None)
    method = getattr(KdedgeCLI, command, None) if command and not command.startswith("_") else None
    if method is None or not callable(method):
        return  # fire reports unknown commands itself, before running anything
    params = [p for p in inspect.signature(method).parameters if p != "self"]
    known = set(params) | {f"no{p}" for p in params} | {"help"}
    for arg in argv[: argv.index("--")] if "--" in argv else argv:
        if not arg.startswith("--"):
            continue
        name = arg[2:].split("=", 1)[0].replace("-", "_")
        if name not in known:
            close = difflib.get_close_matches(name, params, n=1)
            hint = f"; did you mean --{close[0]}?" if close else ""
            raise KdedgeError(f"`kdedge {command}` has no flag --{name}{hint} "
                              f"(flags: {', '.join('--' + p for p in params)})")


def main(argv: list[str] | None = None) -> None:
    argv = _join_repeated(list(sys.argv[1:] if argv is None else argv))
    try:
        _check_flags(argv)
        fire.Fire(KdedgeCLI(), command=argv, name="kdedge")
    except KdedgeError as exc:
        print(f"kdedge: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # Every write is staged and renamed, so the run is as it was before the stage started.
        print(f"kdedge: error: no space left on the device ({exc}); nothing was replaced: free "
              "space or choose another --out, then run the command again", file=sys.stderr)
        sys.exit(2)
    except MemoryError:
        print("kdedge: error: out of memory; nothing was replaced: use fewer rows or features, "
              "or a machine with more memory", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
