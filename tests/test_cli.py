import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kdedge import contract
from kdedge.cli import main
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
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'kdedge --help imported torch'\n"
            "import kdedge\nassert 'torch' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PAGER": "cat", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    for command in ("distill", "export", "bench", "report", "run"):  # the commands are listed
        assert f"     {command}\n" in result.stdout + result.stderr


def test_console_script_smoke(tmp_path):
    exe = shutil.which("kdedge") or str(Path(sys.executable).parent / "kdedge")
    result = subprocess.run([exe, "distill", "--data", "nope", "--quiet"], capture_output=True,
                            text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert "kdedge: error: --data 'nope'" in result.stderr


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
    assert "[distill] [1/4]" not in err and "[distill] wrote" not in err
    main(["distill", "--data", "iris", "--out", str(tmp_path / "b"), "--max_epochs", "2"])
    err = capsys.readouterr().err
    assert "[distill] [1/4] teacher on 4 features" in err and "[distill] wrote" in err
    assert "[distill] [4/4] baselines" in err


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
