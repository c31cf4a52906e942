import inspect
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kdedge
from kdedge import contract
from kdedge.cli import COMMANDS, KdedgeCLI, command_flags, main, render_help
from kdedge.contract import BenchReport, Metrics, read_record, write_record


def test_main_distill_in_process(tmp_path):
    main(["distill", "--data", "iris", "--features", "2", "--out", str(tmp_path / "r"),
          "--max_epochs", "3", "--student_hidden", "8,4", "--quiet"])
    metrics = read_record(Metrics, tmp_path / "r" / contract.METRICS_JSON)
    assert len(metrics.selected_features) == 2
    models = read_record(contract.ModelsFile, tmp_path / "r" / contract.MODELS_JSON)
    assert models.student.hidden == [8, 4]  # fire's tuple (8, 4) became the list the stage takes


def test_main_bad_input_exits_2_with_message(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["distill", "--data", str(tmp_path / "missing.csv"), "--target", "y"])
    assert exit_info.value.code == 2
    assert "missing.csv" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_main_rejects_bad_hidden_sizes(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["distill", "--student_hidden", "abc", "--out", str(tmp_path / "r")])
    assert exit_info.value.code == 2
    assert "--student_hidden must be whole numbers >= 1" in capsys.readouterr().err


def test_help_does_not_import_torch():
    code = ("import sys\nfrom kdedge.cli import main\n"
            "main(['--help'])\n"
            "assert 'torch' not in sys.modules, 'kdedge --help imported torch'\n"
            "import kdedge\nassert 'torch' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    for command in ("distill", "export", "bench", "report", "run", "predict"):  # all listed
        assert re.search(rf"^  {command} +\S", result.stdout, re.M), command


def _exe() -> str:
    return shutil.which("kdedge") or str(Path(sys.executable).parent / "kdedge")


def test_console_script_smoke(tmp_path):
    result = subprocess.run([_exe(), "distill", "--data", "nope", "--quiet"], capture_output=True,
                            text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert "kdedge: error: --data 'nope'" in result.stderr
    for command in ([_exe()], [sys.executable, "-m", "kdedge"]):
        version = subprocess.run(command + ["--version"], capture_output=True, text=True)
        assert (version.returncode, version.stdout) == (0, f"kdedge {kdedge.__version__}\n")


def test_join_repeated_bench_flags():
    from kdedge.cli import _join_repeated

    argv = ["report", "RUN", "--bench", "a.json", "--lang", "en", "--bench=b.json"]
    assert _join_repeated(argv) == ["report", "RUN", "--lang", "en", "--bench=a.json,b.json"]
    assert _join_repeated(["report", "RUN"]) == ["report", "RUN"]


def test_main_report_merges_repeated_bench_files(full_run, tmp_path):
    """Two --bench flags: both extra machines appear in the report (fire alone keeps the last)."""
    run = shutil.copytree(full_run, tmp_path / "run")
    measured = read_record(BenchReport, run / contract.bench_file("x86-test"))
    extras = []
    for target in ("board-a", "board-b"):
        measured.target = target
        extras.append(write_record(tmp_path / f"{target}.json", measured))
    main(["report", str(run), "--lang", "en", "--bench", str(extras[0]), "--bench",
          str(extras[1]), "--quiet"])
    report = (run / contract.REPORT_MD).read_text(encoding="utf-8")
    assert "board-a" in report and "board-b" in report and "x86-test" in report


def test_main_unknown_flag_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["distill", "--data", "iris", "--max_epoch", "3", "--out", str(tmp_path / "r")])
    assert exit_info.value.code == 2
    assert "has no flag --max_epoch; did you mean --max_epochs?" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("flag,value,message", [
    ("--max_epochs", "0", "--max_epochs must be a whole number >= 1"),
    ("--batch_size", "0", "--batch_size must be a whole number >= 2"),
    ("--lr", "-1", "--lr must be a number > 0"),
    ("--seed", "abc", "--seed must be a whole number >= 0"),
    ("--temperature", "abc", "--temperature must be a number > 0"),
    ("--positive", "setosa", "--positive setosa applies to binary data only"),  # 3 classes
])
def test_main_bad_values_are_clear_errors(tmp_path, capsys, flag, value, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["distill", "--data", "iris", flag, value, "--out", str(tmp_path / "r")])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_main_default_features_fit_small_data(tmp_path):
    main(["distill", "--data", "iris", "--out", str(tmp_path / "r"), "--max_epochs", "2", "--quiet"])
    metrics = read_record(Metrics, tmp_path / "r" / contract.METRICS_JSON)
    assert metrics.student.n_features == 4  # iris has 4 < 6 columns: the student reads all


def test_main_quiet_prints_no_progress_but_progress_by_default(tmp_path, capsys):
    main(["distill", "--data", "iris", "--out", str(tmp_path / "a"), "--max_epochs", "2", "--quiet"])
    err = capsys.readouterr().err
    assert "[distill] [1/" not in err and "[distill] wrote" not in err
    main(["distill", "--data", "iris", "--out", str(tmp_path / "b"), "--max_epochs", "2"])
    err = capsys.readouterr().err
    assert re.search(r"\[distill\] \[1/\d\] .*teacher on 4 features", err)
    assert "[distill] wrote" in err and re.search(r"\[distill\] \[\d/\d\] baselines", err)


def _random_labels_csv(path, rows: int = 300) -> str:
    """Features and a 50/50 label drawn independently: nothing to learn."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(rows, 5))
    labels = rng.permutation(np.r_[np.zeros(rows // 2, dtype=int), np.ones(rows // 2, dtype=int)])
    lines = ["f0,f1,f2,f3,f4,label"] + [",".join(f"{v:.6f}" for v in row) + f",{label}"
                                       for row, label in zip(x, labels)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_main_random_labels_warn_of_a_useless_teacher(tmp_path, capsys):
    """A teacher no better than the majority class: distill finishes, warns on stderr (even with
    --quiet) and records it in metrics.json."""
    data = _random_labels_csv(tmp_path / "noise.csv")
    main(["distill", "--data", data, "--target", "label", "--features", "2",
          "--out", str(tmp_path / "r"), "--max_epochs", "20", "--quiet"])
    err = capsys.readouterr().err
    assert "[distill] WARNING the teacher is not significantly more accurate than always " \
           "predicting the majority class" in err
    metrics = read_record(Metrics, tmp_path / "r" / contract.METRICS_JSON)
    assert metrics.teacher_useful is False
    assert metrics.warnings and metrics.warnings[0].startswith("the teacher is not")
    assert metrics.warnings[0] in err
    assert metrics.comparison("majority", "teacher").verdict != "b_better"


def test_main_positive_label_written_as_a_number(tmp_path):
    """fire reads `--positive 0` as the int 0; labels are compared as text."""
    data = _random_labels_csv(tmp_path / "noise.csv", rows=120)
    main(["distill", "--data", data, "--target", "label", "--positive", "0", "--features", "2",
          "--out", str(tmp_path / "r"), "--max_epochs", "2", "--quiet"])
    metrics = read_record(Metrics, tmp_path / "r" / contract.METRICS_JSON)
    assert (metrics.data.positive_class, metrics.data.positive_rule) == ("0", "--positive")


def test_main_numeric_target_name_stays_text(tmp_path, capsys):
    """fire parses `--target 8` as the int 8; a column name is text at the CLI boundary."""
    data = tmp_path / "d.csv"
    data.write_text("a,b,8\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    main(["distill", "--data", str(data), "--target", "8", "--out", str(tmp_path / "r"),
          "--max_epochs", "2", "--quiet"])
    assert read_record(Metrics, tmp_path / "r" / contract.METRICS_JSON).data.target == "8"


# --- help, version, short flags -------------------------------------------------------------

def _described_flags(text: str) -> dict[str, str]:
    """{flag: its description} from a `kdedge COMMAND --help` text."""
    found, lines = {}, text.splitlines()
    for line, following in zip(lines, lines[1:] + [""]):
        match = re.match(r"^  --(\w+)", line)
        if match:
            found[match.group(1)] = following.strip() if following.startswith("      ") else ""
    return found


@pytest.mark.parametrize("command", COMMANDS)
def test_help_describes_every_flag_of_every_command(command):
    described = _described_flags(render_help(command))
    flags = {name for name, p in command_flags(command).items()
             if p.default is not inspect.Parameter.empty}
    assert set(described) == flags
    assert [name for name, text in described.items() if len(text) < 10] == []
    assert "Type:" not in render_help(command)  # none of fire's type lines


def test_distill_help_prints_to_stdout_without_a_pager(monkeypatch, capsys):
    import fire.console.console_io
    import pydoc

    def no_pager(*args, **kwargs):
        raise AssertionError("a pager was invoked")

    monkeypatch.setattr(fire.console.console_io, "More", no_pager)
    monkeypatch.setattr(pydoc, "pager", no_pager)
    main(["distill", "--help"])
    out = capsys.readouterr().out
    for name in inspect.signature(KdedgeCLI.distill).parameters:
        if name != "self":
            assert _described_flags(out).get(name), name
    for name in ("teacher", "student", "fidelity", "search_seconds", "transfer", "no_header"):
        assert f"--{name}" in out


def test_help_on_a_terminal_prints_without_the_pager(tmp_path):
    """fire pipes long help through $PAGER when stdout is a terminal; kdedge prints it."""
    marker, pager = tmp_path / "pager-ran", tmp_path / "pager.sh"
    pager.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n")
    pager.chmod(0o755)
    terminal, child_end = pty.openpty()
    proc = subprocess.Popen([_exe(), "distill", "--help"], stdin=child_end, stdout=child_end,
                            stderr=child_end, env={**os.environ, "PAGER": str(pager)})
    os.close(child_end)
    chunks = []
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(terminal)
    assert proc.wait(timeout=60) == 0
    assert "--max_epochs=MAX_EPOCHS" in b"".join(chunks).decode()
    assert not marker.exists()


def test_version_prints_kdedge_version(capsys):
    main(["--version"])
    assert capsys.readouterr().out == f"kdedge {kdedge.__version__}\n"


@pytest.mark.parametrize("argv,message", [
    (["distill", "-l", "0.1"], "kdedge takes long flags only: -l is not a flag; did you mean --lr?"),
    (["distill", "-v"], "-v is not a flag; did you mean --val_size?"),
    (["report", "RUN", "-l", "en"], "-l is not a flag; did you mean --lang?"),
    (["distill", "-lr", "0.1"], "-lr is not a flag; did you mean --lr?"),
])
def test_short_flags_are_refused_and_named(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv + ["--out", str(tmp_path / "r")] if argv[0] == "distill" else argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv,expected,unexpected", [
    (["distill", "--quick"], "(--quick is a flag of `kdedge bench`)", "did you mean"),
    (["distill", "--epochs", "3"], "did you mean --max_epochs?", None),
    (["distill", "--batch", "8"], "did you mean --batch_size?", None),
    (["bench", "RUN", "--thread", "2"], "did you mean --threads?", None),
    (["distill", "--colour", "red"], "has no flag --colour; its flags: --data,", "did you mean"),
    (["distil", "--data", "iris"], "did you mean `kdedge distill`?", None),
])
def test_unknown_flags_suggest_only_close_names(capsys, argv, expected, unexpected):
    with pytest.raises(SystemExit):
        main(argv)
    err = capsys.readouterr().err
    assert expected in err
    assert unexpected is None or unexpected not in err


def test_text_flag_without_a_value_is_refused(tmp_path, capsys):
    """fire would read a bare `--out` as the text "True" and write a run there."""
    with pytest.raises(SystemExit):
        main(["distill", "--data", "iris", "--out", "--force"])
    assert "--out needs a value: --out=VALUE" in capsys.readouterr().err


# --- the CLI boundary: values as typed, flags a stage does not take ---------------------------

@pytest.fixture
def captured(monkeypatch):
    """The stage functions replaced by one that records what the CLI passed them."""
    import kdedge.distill
    import kdedge.pipeline

    calls = {}

    def record(name):
        def stage(**values):
            calls[name] = values
            return "done"
        return stage

    monkeypatch.setattr(kdedge.distill, "distill", record("distill"))
    monkeypatch.setattr(kdedge.pipeline, "run_all", record("run"))
    return calls


@pytest.mark.parametrize("typed", ["8", "0", "1e3", "1_000", "0x10", "None", "True", "a,b", "08"])
def test_text_flags_reach_the_stage_as_typed(captured, typed):
    """fire alone turns `--target 8` into 8, `1e3` into 1000.0 and `a,b` into a tuple."""
    main(["distill", "--data", "d.csv", "--target", typed, "--positive", typed])
    assert captured["distill"]["target"] == captured["distill"]["positive"] == typed
    main(["run", "--data", "d.csv", "--target", typed])
    assert captured["run"]["target"] == typed


def test_no_header_and_a_column_index_reach_distill(captured):
    main(["distill", "--data", "d.csv", "--no_header", "--target", "-1"])
    assert (captured["distill"]["no_header"], captured["distill"]["target"]) == (True, "-1")


def test_run_accepts_the_flags_of_its_stages(captured):
    main(["run", "--temperature", "2", "--alpha", "0.3", "--teacher", "gbdt", "--student",
          "fixed", "--student_hidden", "8,4", "--max_epochs", "1", "--quantize", "int8,fp16",
          "--noc", "--quick", "--batch_sizes", "1,32", "--threads", "2", "--lang", "en",
          "--force", "--quiet"])
    assert captured["run"] == dict(
        temperature=2.0, alpha=0.3, teacher="gbdt", student="fixed", student_hidden=[8, 4],
        max_epochs=1, quantize=["int8", "fp16"], c=False, quick=True, batch_sizes=[1, 32],
        threads=2, lang="en", force=True)


@pytest.mark.parametrize("flag", ["--bench", "--worker_timeout", "--run_dir", "--nonsense"])
def test_run_refuses_flags_no_stage_command_offers(captured, capsys, flag):
    with pytest.raises(SystemExit):
        main(["run", flag, "x"])
    assert f"`kdedge run` has no flag {flag}" in capsys.readouterr().err
    assert captured == {}


def test_run_takes_every_flag_its_stages_declare():
    """A flag a stage's PARAMETERS declare and its command offers is a flag of `run`, with
    nothing to edit in a second list."""
    import kdedge.pipeline

    run = command_flags("run")
    for stage in kdedge.pipeline.STAGES:
        for name in command_flags(stage.name):
            if name in stage.load().PARAMETERS:
                assert name in run, name
    for name in ("temperature", "alpha", "teacher", "student", "fidelity", "search_seconds",
                 "transfer", "rank", "student_hidden", "max_epochs", "quantize", "c", "quick",
                 "threads", "batch_sizes", "lang", "quiet"):
        assert name in run, name


@pytest.mark.parametrize("command", ["distill", "export", "bench", "report", "predict"])
def test_cli_defaults_are_the_stage_defaults(command):
    """A CLI default that differs from its stage's would change what `kdedge X` does."""
    import importlib

    module, function = {"distill": ("kdedge.distill", "distill"),
                        "export": ("kdedge.export.stage", "export_run"),
                        "bench": ("kdedge.runtime.bench", "bench"),
                        "report": ("kdedge.report.make", "make_report"),
                        "predict": ("kdedge.runtime.predict", "predict")}[command]
    stage = inspect.signature(getattr(importlib.import_module(module), function)).parameters
    for name, parameter in command_flags(command).items():
        if name in stage and parameter.default is not inspect.Parameter.empty:
            default = stage[name].default
            assert parameter.default == default, (name, parameter.default, default)


def test_flag_the_installed_stage_lacks_is_dropped_at_its_default_refused_when_given(
        monkeypatch, capsys):
    import kdedge.distill

    seen = {}
    monkeypatch.setattr(kdedge.distill, "distill", lambda *, data=None: seen.update(data=data))
    main(["distill", "--data", "iris", "--quiet"])
    assert seen == {"data": "iris"}
    with pytest.raises(SystemExit):
        main(["distill", "--teacher", "gbdt"])
    assert "--teacher: this installation's `kdedge distill` does not take it yet" in \
        capsys.readouterr().err


@pytest.mark.parametrize("argv,expected", [
    (["export", "RUN", "--c"], ["export", "RUN", "--c=True"]),
    (["export", "--c", "RUN"], ["export", "--c=True", "RUN"]),  # fire read RUN as c's value
    (["export", "RUN", "--noc"], ["export", "RUN", "--c=False"]),
    (["export", "RUN", "--force", "false"], ["export", "RUN", "--force=False"]),
    (["distill", "--no_header", "--target", "-1"], ["distill", "--no_header=True", "--target",
                                                    "-1"]),
    (["export", "RUN", "--", "--c"], ["export", "RUN", "--", "--c"]),  # fire's own flags
])
def test_on_off_flags_are_made_explicit_for_fire(argv, expected):
    """For `run`'s **flags fire strips "no" off any bare flag (`--no_header` → `_header`)."""
    from kdedge.cli import _explicit_bools

    assert _explicit_bools(argv) == expected


def test_numeric_column_name_target_zero_in_a_subprocess(tmp_path):
    """`--target 0` names the column "0" (fire alone: the int 0, read as "no target"): the error
    about that column's empty cell proves it was found, before any training."""
    data = tmp_path / "d.csv"
    data.write_text("a,b,0\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30)) + "7,1,\n")
    result = subprocess.run([_exe(), "distill", "--data", str(data), "--target", "0", "--out",
                             str(tmp_path / "r")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "target column '0' has 1 empty values" in result.stderr
    assert not (tmp_path / "r").exists()
