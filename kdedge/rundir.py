"""The run directory: atomic writes, the run.json manifest, and checked reading.

No torch, so the device runtime may use it too. What each file holds is `kdedge.contract`.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as _dt
import errno
import fcntl
import functools
import glob
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kdedge.contract import RUN_JSON as MANIFEST
from kdedge.contract import Manifest, write_record
from kdedge.errors import KdedgeError
from kdedge.log import get_logger

RUN_FORMAT = Manifest.FORMAT  # KdedgeError, MANIFEST and RUN_FORMAT are imported from here too
# What staged writes leave when a stage is killed: `.NAME.XXXXXXXX.partial` (a folder being built),
# `.NAME.XXXXXXXX.old` (a run moved aside while replaced), `.NAME.XXXXXXXX.tmp` (a file being
# written); XXXXXXXX is tempfile's random part.
DEBRIS = r"\.{name}\.[a-z0-9_]{{8}}\.(partial|old|tmp)"
ASIDE_RUN = "run"  # the old run's name inside its `.NAME.XXXXXXXX.old` folder
_log = get_logger("rundir")


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def json_safe(value: Any) -> Any:
    """NaN/inf are not JSON: write them as null so every reader can parse the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        return json_safe(value.item())
    return value


def current_umask() -> int:
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
        os.fchmod(fd, 0o666 & ~current_umask())
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
    text = json.dumps(json_safe(obj), indent=2, ensure_ascii=False, allow_nan=False)
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
    """Check a stage's output folder before any work; return it as a Path.

    Refused: a symbolic link (kdedge replaces --out as a whole and would replace the link, not the
    run it points to: pass the run itself), the working directory or a folder containing it, a
    file, a non-empty folder that is not a kdedge run (even with `force`), an existing run without
    `force`, and a folder whose parent cannot be created or written (probed, nothing left). A run
    a killed replace left aside is put back first (`recover_interrupted`).
    """
    out = Path(out)
    if out.is_symlink():
        real = os.path.realpath(out)
        raise KdedgeError(f"--out {out} is a symbolic link to {real}; kdedge replaces --out as a "
                          f"whole and does not replace links: pass the run itself, --out {real}")
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        raise KdedgeError(f"--out {out} is the working directory or contains it; kdedge replaces "
                          "--out as a whole: give a new folder, e.g. --out runs/mine")
    recover_interrupted(out)
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
    _check_writable(out)
    return out


def _check_writable(out: Path) -> None:
    """The nearest existing folder above `out` must be a folder kdedge can write in: probed by
    making and removing a temporary folder (root may write where the mode bits say no)."""
    existing = out.absolute().parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise KdedgeError(f"--out {out}: {existing} is a file, not a folder; choose another --out")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".kdedge-probe.", dir=existing))
    except OSError as exc:
        raise KdedgeError(f"--out {out}: cannot write in {existing} ({exc.strerror}); choose a "
                          "writable --out") from exc


def staging_dir(out: Path) -> Path:
    """A temporary sibling of `out` to build a whole run in before `commit_dir` renames it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    staged.chmod(0o777 & ~current_umask())  # mkdtemp is owner-only; the run is shared like any folder
    return staged


@functools.lru_cache(maxsize=1)
def _renameat2():
    """glibc's renameat2, or None (another libc, or glibc < 2.28)."""
    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                             ctypes.c_uint]
        function.restype = ctypes.c_int
    return function


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 with RENAME_EXCHANGE); False where the
    C library, the kernel or the filesystem cannot, so the caller falls back to two renames."""
    at_fdcwd, rename_exchange = -100, 2
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second),
                 rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def commit_dir(staged: Path, out: Path) -> Path:
    """Move a finished staging directory to `out`, replacing an old one only at the last moment.

    An existing `out` is swapped with `staged` in one atomic step (`_exchange`): a kill at any
    moment leaves the old or the new run at `out`, the other under the staging name, which
    `clean_debris` removes. Where the filesystem cannot swap, two renames: the old run aside into
    `.NAME.XXXXXXXX.old/run`, the new one in. An error between them puts the old run back; a
    kill between them leaves `out` missing until the next writer's `recover_interrupted` puts the
    old run back (a reader's error says how).
    """
    if not (out.exists() or out.is_symlink()):
        os.replace(staged, out)
        return out
    if _exchange(staged, out):
        _remove(staged)  # now the old run
        return out
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    os.replace(out, aside / ASIDE_RUN)
    try:
        os.replace(staged, out)
    except BaseException:
        os.replace(aside / ASIDE_RUN, out)
        aside.rmdir()
        raise
    _remove(aside)
    return out


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _asides(out: Path) -> list[Path]:
    """Old runs a replace moved aside and did not remove: `.NAME.XXXXXXXX.old/run`, newest last."""
    pattern = re.compile(DEBRIS.format(name=re.escape(out.name)))
    found = [entry / ASIDE_RUN for entry in out.parent.glob(f".{glob.escape(out.name)}.*.old")
             if pattern.fullmatch(entry.name) and (entry / ASIDE_RUN).is_dir()]
    return sorted(found, key=lambda path: path.parent.stat().st_mtime)


def recover_interrupted(out: str | os.PathLike) -> Path | None:
    """Put back the run a killed `commit_dir` fallback moved aside: `out` missing and
    `.NAME.XXXXXXXX.old/run` beside it (the newest, if several). Returns `out` if it did."""
    out = Path(out)
    if out.exists() or out.is_symlink() or not out.parent.is_dir():
        return None
    asides = _asides(out)
    if not asides:
        return None
    os.replace(asides[-1], out)
    asides[-1].parent.rmdir()
    _log.warning("put back %s from %s: a kdedge process was killed while replacing it", out,
                 asides[-1].parent)
    return out


def _debris_inside(run_dir: Path) -> list[Path]:
    """Staged folders and temporary files of killed stages at any depth of `run_dir`."""
    pattern, found = re.compile(DEBRIS.format(name=".+")), []
    for folder, dirs, files in os.walk(run_dir):
        for name in sorted(dirs) + sorted(files):
            if pattern.fullmatch(name):
                found.append(Path(folder) / name)
        dirs[:] = [name for name in dirs if not pattern.fullmatch(name)]
    return found


def clean_debris(path: str | os.PathLike) -> list[Path]:
    """Remove what killed stages left at `path`: its siblings `.NAME.XXXXXXXX.partial|old|tmp`
    and, inside a folder, every `.*.XXXXXXXX.partial|old|tmp` at any depth. Returns them.

    Call it holding `stage_lock(path)` after a successful write: a running stage's staging
    folder looks the same. A run moved aside is kept while `path` is missing (see
    `recover_interrupted`).
    """
    path = Path(path)
    pattern = re.compile(DEBRIS.format(name=re.escape(path.name)))
    present = path.exists()
    found = [entry for entry in sorted(path.parent.glob(f".{glob.escape(path.name)}.*"))
             if pattern.fullmatch(entry.name) and (present or entry.suffix != ".old")]
    if path.is_dir() and not path.is_symlink():
        found += _debris_inside(path)
    for entry in found:
        _remove(entry)
    return found


def read_manifest(run_dir: str | os.PathLike):
    """Read and check RUN/run.json: present, parseable, a format this kdedge understands.

    Returns:
        A `kdedge.contract.Manifest`.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        asides = _asides(run_dir)
        if asides:
            raise KdedgeError(
                f"run directory {run_dir} does not exist: a kdedge process was killed while "
                f"replacing it (interrupted); the previous run is in {asides[-1]}; the next kdedge "
                f"stage that writes {run_dir} puts it back, or move it: mv {asides[-1]} {run_dir}")
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


DISTILL_FIX = "re-run `kdedge distill` to recreate the run"


def _artifact_problem(run_dir: Path, name: str, manifest) -> str | None:
    """What is wrong with RUN/name against run.json (missing, unrecorded, changed), or None."""
    path = run_dir / name
    if not path.is_file():
        return f"{path} is missing"
    expected = manifest.artifacts.get(name)
    if expected is None:
        return f"{run_dir / MANIFEST} lists no sha256 for {name}"
    actual = sha256_file(path)
    if actual != expected:
        return (f"{path} does not match the sha256 recorded in {run_dir / MANIFEST} (expected "
                f"{expected[:12]}…, found {actual[:12]}…): the file was changed after the stage "
                "that wrote it")
    return None


def verify_recorded(run_dir: str | os.PathLike, names, manifest=None, *,
                    fix: str = DISTILL_FIX) -> dict[str, Path]:
    """RUN/name for every RUN-relative name of `names`, after checking each against the sha256
    run.json records. One KdedgeError lists every file that is missing, unrecorded or changed,
    then `fix` (say which stage to re-run)."""
    run_dir = Path(run_dir)
    manifest = manifest if manifest is not None else read_manifest(run_dir)
    names = list(names)
    problems = [problem for name in names
                if (problem := _artifact_problem(run_dir, name, manifest)) is not None]
    if problems:
        them = "it" if len(problems) == 1 else "them"
        raise KdedgeError("; ".join(problems) + f"; restore {them} or {fix}")
    return {name: run_dir / name for name in names}


def recorded_files(manifest, under: str) -> list[str]:
    """The RUN-relative names run.json records inside folder `under` (e.g. "onnx"), sorted: what
    a stage must find there, so a deleted file is noticed."""
    prefix = under.rstrip("/") + "/"
    return sorted(name for name in manifest.artifacts if name.startswith(prefix))


def verify_artifact(run_dir: str | os.PathLike, name: str, manifest=None) -> Path:
    """Return RUN/name after checking its sha256 against run.json (tampered files are refused)."""
    return verify_recorded(run_dir, [name], manifest)[name]


@contextlib.contextmanager
def _manifest_lock(run_dir: Path):
    """An exclusive lock on RUN/.run.json.lock for a read-modify-write of run.json."""
    with open(run_dir / f".{MANIFEST}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_held: dict[str, int] = {}  # lock file → how many nested stage_lock calls of this process hold it


def _lock_file(run_dir: str | os.PathLike) -> Path:
    """`.NAME.lock` beside the run directory: it can exist before the run does (distill's --out)
    and stays put while distill swaps the folder."""
    path = Path(os.path.abspath(run_dir))
    return path.parent / f".{path.name}.lock"


def _acquire(lock: Path, run_dir, stage: str):
    """The lock file, open and exclusively locked (non-blocking), holding its holder's line.
    The holder removes the file on release, so a lock taken on a file that is no longer at
    `lock` is dropped and taken again."""
    while True:
        handle = open(lock, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "pid unknown"
            handle.close()
            raise KdedgeError(f"another kdedge process ({holder}) is writing {run_dir}; wait for "
                              "it to finish, or choose another run directory") from None
        with contextlib.suppress(FileNotFoundError):
            if os.path.samestat(os.fstat(handle.fileno()), os.stat(lock)):
                handle.write(f"pid {os.getpid()}, {stage}, since {now_iso()}\n")
                handle.flush()
                return handle
        handle.close()


@contextlib.contextmanager
def stage_lock(run_dir: str | os.PathLike, *, stage: str):
    """Hold RUN's writer lock while stage `stage` writes RUN (or creates it).

    A second writer, in another process, fails at once with a KdedgeError naming the holder: no
    stage waits, and none replaces what another is writing. Re-entrant within a process (`kdedge
    run` may hold it across its stages). A run a killed replace moved aside is put back first.
    """
    lock = _lock_file(run_dir)
    if _held.get(str(lock)):
        _held[str(lock)] += 1
        try:
            yield
        finally:
            _held[str(lock)] -= 1
        return
    created = [folder for folder in (lock.parent, *lock.parent.parents) if not folder.exists()]
    lock.parent.mkdir(parents=True, exist_ok=True)
    handle = _acquire(lock, run_dir, stage)
    _held[str(lock)] = 1
    try:
        recover_interrupted(run_dir)
        yield
    finally:
        del _held[str(lock)]
        lock.unlink(missing_ok=True)  # while still locked: see _acquire
        handle.close()  # releases the lock
        for folder in created:  # made for the lock file: removed again if the stage wrote nothing
            with contextlib.suppress(OSError):
                folder.rmdir()


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
