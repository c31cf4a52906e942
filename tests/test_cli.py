import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kdedge.cli import main


def test_main_distill_in_process(tmp_path):
    main(["distill", "--data", "iris", "--features", "2", "--out", str(tmp_path / "r"),
          "--max_epochs", "3", "--quiet"])
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["selected_features"] and len(metrics["selected_features"]) == 2


def test_main_bad_input_exits_2_with_message(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["distill", "--data", str(tmp_path / "missing.csv"), "--target", "y"])
    assert exit_info.value.code == 2
    assert "missing.csv" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_main_rejects_bad_hidden_sizes(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["distill", "--student_hidden", "abc", "--out", str(tmp_path / "r")])
    assert "--student_hidden takes positive whole numbers" in capsys.readouterr().err


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


def test_main_report_merges_repeated_bench_files(small_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    bench_a, bench_b = tmp_path / "a.json", tmp_path / "b.json"
    bench_a.write_text("{not json")
    bench_b.write_text("{}")
    with pytest.raises(SystemExit):
        main(["report", str(run), "--bench", str(bench_a), "--bench", str(bench_b), "--quiet"])
    assert "a.json" in capsys.readouterr().err  # the first --bench was not dropped


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
])
def test_main_bad_numbers_are_clear_errors(tmp_path, capsys, flag, value, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["distill", "--data", "iris", flag, value, "--out", str(tmp_path / "r")])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_main_default_features_fit_small_data(tmp_path):
    main(["distill", "--data", "iris", "--out", str(tmp_path / "r"), "--max_epochs", "2", "--quiet"])
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["student"]["n_features"] == 4  # iris has 4 < 6 columns: the student reads all
