"""Issue 13, item 7: what killed stages leave behind (`.NAME.*.partial`, `.onnx.*.partial`,
`.NAME.*.old`, `.*.tmp`) was never cleaned; the next successful run of the same target removes
it, and nothing else."""

from __future__ import annotations

from pathlib import Path

from reliability_kit import QUICK, fake_run, tiny_csv

from kdedge import rundir
from kdedge.distill import distill


def _debris(run: Path) -> tuple[list[Path], list[Path]]:
    """Debris a killed distill, export, bench and report leave in and beside RUN; and look-alikes
    of other runs and of the user that must survive."""
    parent = run.parent
    debris = [parent / ".run.k2x9q0ab.partial", parent / ".run.u7_3mmz1.old",
              parent / ".run.a1b2c3d4.tmp", run / ".onnx.zz81pq0r.partial",
              run / ".metrics.json.q1w2e3r4.tmp", run / "bench" / ".x86.json.0a0b0c0d.tmp",
              run / "plots" / ".tsne.png.abcdefgh.tmp"]
    keep = [parent / ".run.b.k2x9q0ab.partial",  # debris of run "run.b", not of "run"
            parent / ".other.k2x9q0ab.partial", parent / "notes.partial",
            run / "bench" / "x86.json", run / "plots" / "tsne.png"]
    for path in debris + keep:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in (".partial", ".old"):
            path.mkdir()
            (path / "half.bin").write_bytes(b"x")
        else:
            path.write_bytes(b"x")
    return debris, keep


def test_clean_debris_removes_killed_stages_leftovers_and_nothing_else(tmp_path):
    run = fake_run(tmp_path / "run", "a run")
    debris, keep = _debris(run)
    removed = rundir.clean_debris(run)
    assert sorted(removed) == sorted(debris)
    assert not any(path.exists() for path in debris)
    assert all(path.exists() for path in keep)


def test_the_next_successful_distill_of_the_same_target_removes_the_debris(tmp_path):
    data = str(tiny_csv(tmp_path / "tiny.csv"))
    runs = tmp_path / "runs"
    run = distill(data=data, target="label", out=str(runs / "run"), **QUICK)
    debris, keep = _debris(run)
    distill(data=data, target="label", out=str(run), force=True, **QUICK)
    assert not any(path.exists() for path in debris)
    assert all(path.exists() for path in keep if path.parent == runs)
