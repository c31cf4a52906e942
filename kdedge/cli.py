"""The `kdedge` command: a thin python-fire layer over the stage functions.

Each method imports its stage lazily, so `kdedge --help` and `kdedge bench` never import torch.
Help is rendered by kdedge.cli_help (every flag described, straight to stdout); flags are long
only (`--lr`: one-letter flags meant different things in different commands); a flag annotated
as text (`str`) reaches the stage exactly as typed (fire would turn `--target 8` into 8).
"""

from __future__ import annotations

import difflib
import errno
import importlib
import inspect
import re
import sys
import typing

import fire

import kdedge
from kdedge import cli_help
from kdedge.log import configure as configure_logging
from kdedge.params import TextList, from_cli
from kdedge.rundir import KdedgeError

COMMANDS = ("distill", "export", "bench", "report", "run", "predict")
STAGE_COMMANDS = ("distill", "export", "bench", "report")  # what `run` runs, in order
_SHORT_FLAG = re.compile(r"^-[A-Za-z]")  # -l, -lr; not a negative number (-1)


class KdedgeCLI:
    """Distil a tabular classifier into a small k-feature student, export it, measure it, report it.

    Stages: distill → export → bench → report (`run` does all four on one run directory).
    """

    def distill(self, data: str | None = None, target: str | None = None,
                no_header: bool = False, features: int | None = None,
                positive: str | None = None, out: str | None = None, force: bool = False,
                seed: int = 0, test_size: float = 0.2, val_size: float = 0.2,
                teacher: str = "mlp", teacher_hidden: tuple = (256, 128),
                student: str = "search", fidelity: float = 0.98, search_seconds: float = 60.0,
                rank: int | None = None, student_hidden: tuple | None = None,
                transfer: str = "none", temperature: float = 4.0, alpha: float = 0.5,
                max_epochs: int = 150, patience: int = 15, batch_size: int = 128,
                lr: float = 3e-3, threads: int = 1, stream: str = "auto", nproc: int = 1,
                quiet: bool = False) -> str:
        """Train the teacher and distil the smallest student that keeps it; write a run directory.

        Args:
            data: omit for the built-in default; wine, breast_cancer, digits, iris; or a CSV or
                Parquet file.
            target: the label column of a data file (with --no_header: its index, -1 the last).
            no_header: the CSV has no header row: columns are named col_0, col_1, ….
            features: k, the top-ranked features the student reads (default: the size search
                picks it; a fixed student reads 6, or every column when there are fewer).
            positive: binary data: the positive class's label, whose recall, precision, ROC-AUC
                and PR-AUC are reported (default: the training split's minority class).
            out: the run directory (default: a new folder under runs/).
            force: replace an existing run directory at --out.
            seed: seeds the split, the models' initial weights and the bootstrap.
            test_size: the fraction of rows held out as the test split.
            val_size: the fraction of the other rows for validation (early stopping, ranking).
            teacher: mlp (a multi-layer perceptron) or gbdt (scikit-learn's gradient-boosted
                trees); its probabilities are the students' soft targets.
            teacher_hidden: the MLP teacher's hidden layer widths, e.g. 256,128.
            student: search (the smallest student that keeps the teacher) or fixed (--rank and
                --student_hidden; giving either implies fixed).
            fidelity: search: the agreement with the teacher to reach, with no detectable paired
                accuracy loss (nor, on binary data, positive-class recall loss).
            search_seconds: search: the wall-clock budget of its screening fits.
            rank: a fixed student's gated factors (default ceil(2k/3)); the student's
                architecture on all n features, scored for comparison, gets rank x n/k.
            student_hidden: the student's head layer widths after its factors, e.g. 16,8
                (default: 32 for a fixed student).
            transfer: none, or munge: synthetic rows labelled by the teacher's soft targets are
                added to the students' training rows (Bucilă et al. 2006; measured not to help
                on the benchmark sets, docs/search.md).
            temperature: the KD softmax temperature T of the soft targets.
            alpha: the weight of the hard-label cross-entropy (1 - alpha on the soft KD term).
            max_epochs: the most training epochs of a network (early stopping ends sooner).
            patience: stop after this many epochs without a better validation loss.
            batch_size: training rows per step (at least 2, for BatchNorm).
            lr: the AdamW learning rate.
            threads: torch intra-op threads per process (default 1: models this small only spin
                a second).
            stream: auto, on or off: read the data from disk in record batches instead of
                whole (auto: a Parquet folder, or a table too large to hold comfortably;
                docs/streaming.md).
            nproc: train on this many processes of this machine with torchrun and
                DistributedDataParallel (gloo, loopback); for several machines run
                `torchrun ... -m kdedge distill` (docs/streaming.md).
            quiet: warnings only, no progress lines.
        """
        return _stage("kdedge.distill", "distill", "distill", locals())

    def export(self, run_dir: str, quantize: str | bool | None = None, force: bool = False,
               c: bool = False, quiet: bool = False) -> str:
        """Export teacher and student to RUN_DIR/onnx/ (parity-gated); optionally quantize the student.

        Args:
            run_dir: a run directory written by `kdedge distill`.
            quantize: int8, int8-static, fp16, several comma-separated, or all (`--quantize`
                alone means int8).
            force: replace an existing RUN_DIR/onnx/ (and RUN_DIR/c/).
            c: also write the student as dependency-free C99, RUN_DIR/c/kdedge.{h,c}, compiled
                with gcc and checked against onnxruntime on the test split.
            quiet: warnings only, no progress lines.
        """
        return _stage("kdedge.export.stage", "export_run", "export", locals())

    def bench(self, path: str, target: str | None = None, batch_sizes: tuple = (1, 32, 1024),
              threads: int = 1, opt_level: str = "all", out: str | None = None,
              force: bool = False, quick: bool = False, min_time: float | None = None,
              min_reps: int | None = None, max_time: float | None = None,
              quiet: bool = False) -> str:
        """Measure every ONNX model in PATH (a run directory, a folder of .onnx files, or one .onnx file).

        Args:
            path: a run directory (its onnx/ graphs), a folder of .onnx files, or one .onnx file.
            target: the name of this machine in the results (default: arch and CPU model).
            batch_sizes: rows per call, e.g. 1,32,1024.
            threads: onnxruntime intra-op threads (1 is edge-like).
            opt_level: onnxruntime graph optimisation: disable, basic, extended or all.
            out: the JSON file or folder to write (default RUN_DIR/bench/<target>.json; for one
                file DIR/NAME.onnx: DIR/NAME.bench/<target>.json).
            force: replace an existing bench JSON.
            quick: a short smoke measurement (not for quoting).
            min_time: seconds of timed calls per model and batch size, at least (docs/bench.md).
            min_reps: timed calls per model and batch size, at least.
            max_time: seconds of timed calls per model and batch size, at most.
            quiet: warnings only, no progress lines.
        """
        return _stage("kdedge.runtime.bench", "bench", "bench", locals())

    def report(self, run_dir: str, lang: str = "zh", bench: str | None = None,
               quiet: bool = False) -> str:
        """Write RUN_DIR/report.md, report.html and plots/ from whatever stages have run.

        Args:
            run_dir: a run directory written by `kdedge distill`.
            lang: zh (as the seed report) or en.
            bench: extra bench JSON files from other devices (repeat --bench FILE, or FILE,FILE).
            quiet: warnings only, no progress lines.
        """
        values = dict(run_dir=run_dir, lang=lang, bench_files=TextList().from_cli(bench or []),
                      quiet=quiet)
        return _stage("kdedge.report.make", "make_report", "report", values)

    def run(self, quiet: bool = False, **flags) -> str:
        """distill → export → bench → report on one new run directory, then a short summary.

        It takes the flags of the stages it runs. A flag two stages share belongs to the first:
        --target is the label column, --force replaces --out, --threads sets training's torch
        threads (bench measures on one onnxruntime thread; `kdedge bench RUN --threads N`
        measures again).

        Args:
            quantize: the student variants to export: int8, int8-static, fp16, several
                comma-separated, or all (default: all).
            c: also export the C student and time it (default: where gcc is installed; --noc
                skips it).
            quiet: warnings and the run directory only: no progress lines, no summary.
        """
        return _stage("kdedge.pipeline", "run_all", "run", dict(flags, quiet=quiet))

    def predict(self, path: str, data: str, model: str | None = None, out: str | None = None,
                target: str | None = None, keep: str | None = None,
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
            quiet: warnings only, no progress lines.
        """
        return _stage("kdedge.runtime.predict", "predict", "predict", locals())


def _stage(module: str, function: str, command: str, values: dict) -> str | None:
    """The CLI boundary, the same for every command: configure progress logging, turn fire's
    parsed values into the stage's types (its PARAMETERS), call the stage, return its path."""
    stage = importlib.import_module(module)  # lazily: `kdedge --help` imports no torch
    configure_logging(quiet=values.get("quiet", False))
    call = getattr(stage, function)
    values = _taken(call, command, {k: v for k, v in values.items() if k not in ("self", "quiet")})
    result = call(**from_cli(getattr(stage, "PARAMETERS", {}), values))
    return None if result is None else str(result)  # None: a torchrun rank that writes nothing


def _taken(call, command: str, values: dict) -> dict:
    """`values` without the flags the installed stage function does not declare (a CLI newer
    than its stage): dropped at the CLI's default, refused when given."""
    declared = inspect.signature(call).parameters
    if any(p.kind is p.VAR_KEYWORD for p in declared.values()):
        return values
    defaults = _own_flags(command)
    for name in [name for name in values if name not in declared]:
        if name not in defaults or values[name] != defaults[name].default:
            raise KdedgeError(f"--{name}: this installation's `kdedge {command}` does not take "
                              "it yet; drop it or update kdedge")
        del values[name]
    return values


def _own_flags(command: str) -> dict[str, inspect.Parameter]:
    """The parameters of one CLI method, `self` and `**flags` left out."""
    parameters = inspect.signature(getattr(KdedgeCLI, command)).parameters
    return {name: p for name, p in parameters.items()
            if name != "self" and p.kind is not p.VAR_KEYWORD}


def run_flag_owners() -> dict[str, str]:
    """{flag: stage command} of `kdedge run`: each stage command's flags that its stage declares
    in PARAMETERS, a name two stages declare belonging to the first (`kdedge.pipeline`)."""
    from kdedge.pipeline import flag_owners  # imports the stages, torch included

    owners = flag_owners()
    return {name: command for command in STAGE_COMMANDS for name in _own_flags(command)
            if owners.get(name) == command}


def command_flags(command: str) -> dict[str, inspect.Parameter]:
    """Every flag of a command, as its CLI method declares it (`run`: its stages' methods)."""
    if command != "run":
        return _own_flags(command)
    flags = {name: _own_flags(owner)[name] for name, owner in run_flag_owners().items()}
    return {**flags, **_own_flags("run")}


def _is_text(hint) -> bool:
    """`str` or `str | None`: a name or a path, never a number."""
    return hint is str or set(typing.get_args(hint)) == {str, type(None)}


def text_flags(command: str) -> set[str]:
    """The flags of a command annotated as text (`run`: those of its stage commands)."""
    commands = STAGE_COMMANDS if command == "run" else (command,)
    return {name for each in commands
            for name, hint in typing.get_type_hints(getattr(KdedgeCLI, each)).items()
            if _is_text(hint)}


def _parse_text_as_typed() -> None:
    """Tell fire to parse every text flag with `str` rather than as a Python literal: `--target
    8`, `--target 1e3` and `--out None` are the names "8", "1e3" and "None"."""
    for command in COMMANDS:
        fire.decorators.SetParseFn(str, *text_flags(command))(getattr(KdedgeCLI, command))


_parse_text_as_typed()


def render_help(command: str | None) -> str:
    """`kdedge --help` (command None) or `kdedge COMMAND --help`."""
    if command is None:
        commands = {name: getattr(KdedgeCLI, name) for name in COMMANDS}
        return cli_help.overview(cli_help.doc_summary(KdedgeCLI), commands, kdedge.__version__)
    method = getattr(KdedgeCLI, command)
    flags = command_flags(command)
    positional = {n: p for n, p in flags.items() if p.default is inspect.Parameter.empty}
    optional = {n: p for n, p in flags.items() if n not in positional}
    if command != "run":
        groups = [("flags:", optional, cli_help.doc_args(method))]
    else:
        owners, own = run_flag_owners(), cli_help.doc_args(method)
        groups = [(f"{stage} flags:", {n: p for n, p in optional.items() if owners.get(n) == stage},
                   {**cli_help.doc_args(getattr(KdedgeCLI, stage)), **own})
                  for stage in STAGE_COMMANDS]
        groups.append(("output:", {"quiet": optional["quiet"]}, own))
    return cli_help.command_help(command, method, positional, groups)


def _close_matches(name: str, names: list[str]) -> list[str]:
    """Known names a mistyped `name` is probably meant as: a close spelling (difflib ratio >=
    0.75: `max_epoch`, `thread`) or a longer form (`batch` for batch_size); not mere shared
    letters (`quick` is not `quiet`)."""
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.75)
    longer = [n for n in names if len(name) >= 3 and n.startswith(name) and n not in close]
    return close + longer


def _unknown_flag(command: str, name: str, params: list[str]) -> KdedgeError:
    close = _close_matches(name, params)
    hint = f"; did you mean {' or '.join('--' + c for c in close)}?" if close else ""
    elsewhere = [f"`kdedge {other}`" for other in COMMANDS
                 if other not in (command, "run") and name in _own_flags(other)]
    if elsewhere and not close:
        hint = f" (--{name} is a flag of {', '.join(elsewhere)})"
    return KdedgeError(f"`kdedge {command}` has no flag --{name}{hint}; its flags: "
                       f"{', '.join('--' + p for p in params)} (kdedge {command} --help)")


def _short_flag(arg: str, params: list[str]) -> KdedgeError:
    name = arg[1:].split("=", 1)[0].replace("-", "_")
    guess = [p for p in params if p == name] or [p for p in params if p[0] == name[0]]
    hint = f"; did you mean {' or '.join('--' + g for g in guess)}?" if guess else ""
    return KdedgeError(f"kdedge takes long flags only: {arg} is not a flag{hint}")


def _check_flags(argv: list[str]) -> None:
    """Refuse an unknown flag, a one-letter flag and a text flag without its value before any
    work: fire would run the stage first, then complain (or read `-l` as whichever flag starts
    with l, and a bare `--out` as the text "True")."""
    args = argv[: argv.index("--")] if "--" in argv else argv
    command = args[0] if args and not args[0].startswith("-") else None
    if command is None or command not in COMMANDS:
        close = difflib.get_close_matches(command or "", COMMANDS, n=1)
        hint = f"did you mean `kdedge {close[0]}`? " if close else ""
        raise KdedgeError(f"{hint}give a command first: kdedge COMMAND [--flag=VALUE ...] with "
                          f"COMMAND one of {', '.join(COMMANDS)} (kdedge --help)")
    params = list(command_flags(command))
    known = set(params) | {f"no{p}" for p in params}
    texts = text_flags(command)
    for index, arg in enumerate(args[1:], start=1):
        if _SHORT_FLAG.match(arg):
            raise _short_flag(arg, params)
        if not arg.startswith("--"):
            continue
        name = arg[2:].split("=", 1)[0].replace("-", "_")
        if name not in known:
            raise _unknown_flag(command, name, params)
        following = args[index + 1] if index + 1 < len(args) else None
        if name in texts and "=" not in arg and (following is None or following.startswith("--")):
            raise KdedgeError(f"--{name} needs a value: --{name}=VALUE")


def _explicit_bools(argv: list[str]) -> list[str]:
    """`--force` → `--force=True`, `--noforce` → `--force=False` for a command's on/off flags.

    fire reads the word after a bare flag as its value (`kdedge export --c RUN` set c to "RUN"),
    and for `run`'s **flags strips "no" off any bare flag (`--no_header` became `_header`)."""
    end = argv.index("--") if "--" in argv else len(argv)
    bools = {name for name, p in command_flags(argv[0]).items() if isinstance(p.default, bool)}
    out, index = list(argv[:1]), 1
    while index < len(argv):
        arg = argv[index]
        name = arg[2:].replace("-", "_") if arg.startswith("--") and index < end else ""
        following = argv[index + 1] if index + 1 < end else ""
        if name in bools and following.lower() in ("true", "false"):
            out.append(f"--{name}={following.title()}")
            index += 1
        elif name in bools:
            out.append(f"--{name}=True")
        elif name.startswith("no") and name[2:] in bools:
            out.append(f"--{name[2:]}=False")
        else:
            out.append(arg)
        index += 1
    return out


def _help_or_version(argv: list[str]) -> str | None:
    """What `--version`, `--help`/`-h` (or no arguments at all) print; None for anything else."""
    args = argv[: argv.index("--")] if "--" in argv else argv
    if not args or args[0] in ("--help", "-h"):
        return render_help(None)
    if args[0] == "--version":
        return f"kdedge {kdedge.__version__}\n"
    if args[0] in COMMANDS and ("--help" in args or "-h" in args):
        return render_help(args[0])
    return None


def main(argv: list[str] | None = None) -> None:
    argv = _join_repeated(list(sys.argv[1:] if argv is None else argv))
    try:
        text = _help_or_version(argv)
        if text is not None:
            sys.stdout.write(text)  # straight to stdout: no pager, even on a terminal
            return
        _check_flags(argv)
        fire.Fire(KdedgeCLI(), command=_explicit_bools(argv), name="kdedge")
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


if __name__ == "__main__":
    main()
