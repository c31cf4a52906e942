"""Disk full and out of memory end as one `kdedge: error:` line with exit status 2 (issue item 14),
with the run left as it was."""

import errno

import pytest

from kdedge.cli import main
from kdedge.rundir import read_manifest


@pytest.mark.parametrize("raised, message", [
    (OSError(errno.ENOSPC, "No space left on device"), "no space left on the device"),
    (MemoryError(), "out of memory"),
])
def test_out_of_resources_is_one_line_exit_2(small_run, tmp_path, monkeypatch, capsys, raised,
                                             message):
    import shutil

    run = shutil.copytree(small_run, tmp_path / "run")
    before = read_manifest(run).to_json()

    def fail(*args, **kwargs):
        raise raised

    monkeypatch.setattr("kdedge.rundir.write_bytes_atomic", fail)
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(run), "--quiet"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("kdedge: error: ") and message in err
    assert err.count("\n") == 1  # one line, no traceback
    assert read_manifest(run).to_json() == before
