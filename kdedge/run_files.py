"""Writing distill's run directory: the output folder claimed under its lock, every record and
array staged and committed at once, run.json with the sha256 of each file.
"""

from __future__ import annotations

import contextlib
import io
import platform
import shutil
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save as save_arrays
from safetensors.torch import save as save_safetensors

import kdedge
from kdedge import contract, rundir
from kdedge.baselines import Baseline
from kdedge.contract import (CALIBRATION_ROWS, EXPORTED_BASELINES, MODEL_NAMES, History,
                             KDConfig, Manifest, Metrics, ModelsFile, Preprocessing, Search,
                             write_record)
from kdedge.data import Dataset, Split
from kdedge.distributed import SINGLE, World
from kdedge.evaluation import Trained
from kdedge.sklearn_models import linear_arrays, linear_config, tree_arrays, trees_config
PACKAGES = ("torch", "numpy", "scikit-learn", "pandas", "pyarrow", "safetensors", "onnx",
            "onnxruntime", "onnxscript", "matplotlib", "fire")


def _versions() -> dict:
    """Python, kdedge and the installed version of each of PACKAGES (None where absent)."""
    versions = {"python": platform.python_version(), "kdedge": kdedge.__version__}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def out_dir_for(out: str | None, runs_root: str, name: str, force: bool) -> Path:
    """The run directory to write, checked before any work (`rundir.prepare_output_dir`): --out,
    else a fresh runs/<time>-<name>[-2, -3…]."""
    if out is not None:
        return rundir.prepare_output_dir(Path(out), force=force)
    run_id = rundir.new_run_id(name)
    out_dir, n = Path(runs_root) / run_id, 1
    while out_dir.exists():
        n += 1
        out_dir = Path(runs_root) / f"{run_id}-{n}"
    return rundir.prepare_output_dir(out_dir, force=False)


@contextlib.contextmanager
def claimed(out: str | None, runs_root: str, name: str, force: bool, world: World = SINGLE):
    """The run directory, checked, under its writer lock (`rundir.stage_lock`) until distill has
    committed it: a second distill to the same --out fails at once instead of replacing this
    one's run. Checked again under the lock; a successful run removes killed runs' debris.
    Only rank 0 writes: the other processes touch no file (they get None)."""
    if not world.is_main:
        yield None
        return
    out_dir = out_dir_for(out, runs_root, name, force)
    with rundir.stage_lock(out_dir, stage="distill"):
        rundir.prepare_output_dir(out_dir, force=force)
        yield out_dir
        rundir.clean_debris(out_dir)


def weight_blobs(trained: dict[str, Trained],
                 baselines: dict[str, Baseline]) -> dict[str, bytes]:
    """safetensors of every saved model: torch state dicts, and the arrays of the GBDT teacher
    and of the exported baselines (kdedge.sklearn_models; no pickle)."""
    blobs = {}
    for name in MODEL_NAMES:
        model = trained[name].model
        blobs[contract.weights_file(name)] = (
            save_safetensors(model.state_dict()) if isinstance(model, torch.nn.Module)
            else save_arrays(tree_arrays(model)))
    for name in EXPORTED_BASELINES:
        estimator = baselines[name].estimator
        arrays = tree_arrays(estimator) if name == "hgb_all" else linear_arrays(estimator)
        blobs[contract.weights_file(name)] = save_arrays(arrays)
    return blobs


def write_run(out_dir: Path, *, blobs: dict[str, bytes], predictions: dict[str, np.ndarray],
               split: Split, ds: Dataset, records: list[contract.Record], manifest: Manifest,
               seed: int) -> None:
    """Build the whole run directory in a staging folder, record every sha256, then commit."""
    calib = np.random.default_rng(seed).permutation(len(split.y_train))[:CALIBRATION_ROWS]
    blobs = dict(blobs)
    blobs[contract.SPLIT_NPZ] = _npz_bytes(
        X_val=split.X_val.astype(np.float32), y_val=split.y_val,
        X_test=split.X_test.astype(np.float32), y_test=split.y_test,
        X_calib=split.X_train[calib].astype(np.float32),
        feature_names=np.array(ds.feature_names, dtype=str),
        class_names=np.array(ds.class_names, dtype=str))
    blobs[contract.PREDICTIONS_NPZ] = _npz_bytes(**predictions)
    staged = rundir.staging_dir(out_dir)
    try:
        for name, blob in blobs.items():
            rundir.write_bytes_atomic(staged / name, blob)
        for record in records:
            write_record(staged / record.FILE, record)
        manifest.artifacts = {p.name: rundir.sha256_file(p) for p in sorted(staged.iterdir())}
        write_record(staged / contract.RUN_JSON, manifest)
        rundir.commit_dir(staged, out_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def run_records(trained: dict[str, Trained], baselines: dict[str, Baseline], metrics: Metrics,
                preprocessing: Preprocessing, kd: KDConfig,
                search: Search) -> list[contract.Record]:
    """metrics.json, preprocessing.json, models.json, history.json and search.json."""
    every = list(range(len(preprocessing.feature_names)))
    configs = {name: trained[name].model.config for name in ("student", "student_no_kd")}
    teacher = trained["teacher"].model
    configs["teacher"] = (teacher.config if isinstance(teacher, torch.nn.Module)
                          else trees_config(teacher, every))
    stored = {}
    for name in EXPORTED_BASELINES:
        baseline = baselines[name]
        stored[name] = (trees_config(baseline.estimator, baseline.columns) if name == "hgb_all"
                        else linear_config(baseline.estimator, baseline.columns))
    return [metrics, preprocessing, ModelsFile(**configs, kd=kd, baselines=stored),
            History(**{name: trained[name].history for name in MODEL_NAMES}), search]


def manifest_record(out_dir: Path, *, seed: int, config: dict, started: float,
                    reading: contract.DataReading) -> Manifest:
    """run.json before its artifacts' sha256 are filled in (`write_run` does that)."""
    return Manifest(
        kdedge_version=kdedge.__version__, run_id=out_dir.name, created=rundir.now_iso(),
        seed=seed, config=config, versions=_versions(), torch_threads=torch.get_num_threads(),
        artifacts={}, stages={"distill": {"finished": rundir.now_iso(),
                                          "seconds": round(time.perf_counter() - started, 2)}},
        data_reading=reading)

