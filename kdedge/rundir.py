"""The run directory: atomic writes, the run.json manifest, and checked reading.

No torch, so the device runtime may use it too. What each file holds is `kdedge.contract`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kdedge.contract import RUN_JSON as MANIFEST
from kdedge.contract import Manifest, write_record
from kdedge.errors import KdedgeError

RUN_FORMAT = Manifest.FORMAT  # KdedgeError, MANIFEST and RUN_FORMAT are imported from here too


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_safe(value: Any) -> Any:
    """NaN/inf are not JSON: write them as null so every reader can parse the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        return _json_safe(value.item())
    return value


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file owner-only (0600); give it the mode a plain open() would.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    text = json.dumps(_json_safe(obj), indent=2, ensure_ascii=False, allow_nan=False)
    return write_bytes_atomic(path, (text + "\n").encode("utf-8"))


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.is_file():
        raise KdedgeError(f"{path} does not exist")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KdedgeError(f"{path} is not valid JSON ({exc}); re-run the stage that writes it") from exc


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def new_run_id(name: str) -> str:
    return f"{_dt.datetime.now():%Y%m%d-%H%M%S}-{name}"


def prepare_output_dir(out: str | os.PathLike, *, force: bool) -> Path:
    """Refuse to touch an existing non-empty directory unless `force`; return the path."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise KdedgeError(f"--out {out} is a file, not a directory; choose another --out")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            # --force replaces a run, never an arbitrary folder: the whole folder is swapped out.
            raise KdedgeError(
                f"--out {out} is a non-empty folder that is not a kdedge run (no {MANIFEST}); "
                "kdedge will not replace it, even with --force: choose an empty or new --out"
            )
        if not force:
            raise KdedgeError(
                f"--out {out} already holds a run; pass --force to replace it or choose another --out"
            )
    return out


def staging_dir(out: Path) -> Path:
    """A temporary sibling of `out` to build a whole run in before `commit_dir` renames it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    staged.chmod(0o777 & ~_umask())  # mkdtemp is owner-only; the run is shared like any folder
    return staged


def commit_dir(staged: Path, out: Path) -> Path:
    """Move a finished staging directory to `out`, replacing an old one only at the last moment."""
    if out.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        os.replace(out, trash / "run")
        os.replace(staged, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staged, out)
    return out


def read_manifest(run_dir: str | os.PathLike):
    """Read and check RUN/run.json: present, parseable, a format this kdedge understands.

    Returns:
        A `kdedge.contract.Manifest`.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise KdedgeError(f"run directory {run_dir} does not exist; create one with `kdedge distill`")
    path = run_dir / MANIFEST
    if not path.is_file():
        raise KdedgeError(
            f"{run_dir} is not a kdedge run directory (no {MANIFEST}); create one with `kdedge distill`"
        )
    data = read_json(path)
    if isinstance(data, dict) and data.get("run_format") != RUN_FORMAT:
        raise KdedgeError(
            f"{path} has run_format {data.get('run_format')!r} but this kdedge reads run_format "
            f"{RUN_FORMAT} (made by kdedge {data.get('kdedge_version', '?')}); "
            "re-create the run with this version's `kdedge distill`"
        )
    return Manifest.from_json(data, where=str(path))


def verify_artifact(run_dir: str | os.PathLike, name: str, manifest=None) -> Path:
    """Return RUN/name after checking its sha256 against run.json (tampered files are refused)."""
    run_dir = Path(run_dir)
    manifest = manifest if manifest is not None else read_manifest(run_dir)
    path = run_dir / name
    if not path.is_file():
        raise KdedgeError(f"{path} is missing; re-run `kdedge distill` to recreate the run")
    expected = manifest.artifacts.get(name)
    if expected is None:
        raise KdedgeError(f"{run_dir / MANIFEST} lists no sha256 for {name}; re-run `kdedge distill`")
    actual = sha256_file(path)
    if actual != expected:
        raise KdedgeError(
            f"{path} does not match the sha256 recorded in {run_dir / MANIFEST} "
            f"(expected {expected[:12]}…, found {actual[:12]}…): the file was changed after the run; "
            "restore it or re-run `kdedge distill`"
        )
    return path


@contextlib.contextmanager
def _manifest_lock(run_dir: Path):
    """An exclusive lock on RUN/.run.json.lock for a read-modify-write of run.json."""
    with open(run_dir / f".{MANIFEST}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_manifest(run_dir: str | os.PathLike, *, stage: str, files: list[str] = (),
                    removed: list[str] = (), info: dict | None = None):
    """Record a stage's run in run.json: the sha256 of the files it wrote (paths relative to RUN),
    entries of files it removed dropped, and `{finished, **info}` under stages[stage].

    The one writer of run.json after distill: a locked read-modify-write, so two stages finishing
    at once cannot lose each other's entries.
    """
    run_dir = Path(run_dir)
    with _manifest_lock(run_dir):
        manifest = read_manifest(run_dir)
        for name in removed:
            manifest.artifacts.pop(name, None)
        for name in files:
            manifest.artifacts[name] = sha256_file(run_dir / name)
        manifest.stages[stage] = {"finished": now_iso(), **(info or {})}
        write_record(run_dir / MANIFEST, manifest)
    return manifest
