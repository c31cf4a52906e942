"""Read a distill run back: run.json, the configs, preprocessing, metrics, the split, the stored
test-split predictions and the weights — each checked against the sha256 in run.json.

No torch: the report reads runs through this module. `Run.load_model` imports the training side
only when called (export needs the torch modules).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdedge import contract, rundir
from kdedge.contract import (Manifest, Metrics, ModelsFile, Preprocessing, Scaler, read_record,
                             weights_file)
from kdedge.rundir import KdedgeError

MODEL_NAMES = contract.MODEL_NAMES


@dataclass
class Run:
    """A distill run directory, read and checked."""

    path: Path
    manifest: Manifest
    metrics: Metrics
    models: ModelsFile
    preprocessing: Preprocessing
    split: dict[str, np.ndarray]  # split.npz arrays (contract.SPLIT_KEYS)

    @property
    def feature_names(self) -> list[str]:
        return list(self.preprocessing.feature_names)

    @property
    def selected_features(self) -> list[str]:
        return list(self.preprocessing.selected_features)

    @property
    def class_names(self) -> list[str]:
        return list(self.preprocessing.class_names)

    @property
    def positive(self) -> int | None:
        """Binary data: the index of the positive class (metrics.json's data.positive_class) in
        class_names; None for multi-class data."""
        name = self.metrics.data.positive_class
        if name is None:
            return None
        if name not in self.class_names:
            raise KdedgeError(f"{self.path / contract.METRICS_JSON}: positive_class {name!r} is "
                              f"not one of the classes {self.class_names}; re-run `kdedge distill`")
        return self.class_names.index(name)

    def _kind(self, name: str) -> str:
        known = MODEL_NAMES + tuple(self.models.baselines)
        if name not in known:
            raise KdedgeError(f"unknown model {name!r}; choose one of {', '.join(known)}")
        return self.models.config(name).kind

    def is_torch(self, name: str) -> bool:
        """Model `name` is a torch MLP (teacher or student), not a stored scikit-learn model
        (the GBDT teacher, the exported baselines)."""
        return self._kind(name) in ("teacher", "student")

    def input_index(self, name: str) -> list[int]:
        """Columns of the raw feature table that model `name` reads, in its input order."""
        kind = self._kind(name)
        config = self.models.config(name)
        if hasattr(config, "feature_index"):  # the GBDT teacher and the baselines
            return list(config.feature_index)
        return self.preprocessing.input_index(kind)

    def input_names(self, name: str) -> list[str]:
        """Model `name`'s inputs in graph order."""
        return [self.feature_names[i] for i in self.input_index(name)]

    def scaler(self, name: str) -> Scaler:
        """The scaler over model `name`'s own inputs."""
        return self.preprocessing.scaler.subset(self.input_index(name))

    def input_rows(self, name: str, key: str = "X_test") -> np.ndarray:
        """Raw float32 rows of split.npz[key] over model `name`'s inputs, in its input order."""
        return np.ascontiguousarray(self.split[key][:, self.input_index(name)], dtype=np.float32)

    def weights_path(self, name: str) -> Path:
        """RUN/<name>.safetensors after its sha256 check."""
        self._kind(name)
        return rundir.verify_artifact(self.path, weights_file(name), self.manifest)

    def weights(self, name: str) -> dict[str, np.ndarray]:
        """Model `name`'s tensors as numpy arrays (safetensors, no torch)."""
        from safetensors.numpy import load

        path = self.weights_path(name)
        try:
            return load(path.read_bytes())
        except Exception as exc:  # safetensors' own error type for a damaged file
            raise KdedgeError(f"{path} cannot be read as safetensors ({exc}); "
                              "re-run `kdedge distill`") from exc

    def predictions(self) -> dict[str, np.ndarray]:
        """predictions.npz: test-split probabilities [rows, C] of every model and baseline
        (contract.PREDICTION_KEYS), as distill scored them (the stored float32 rows)."""
        path = rundir.verify_artifact(self.path, contract.PREDICTIONS_NPZ, self.manifest)
        arrays = _read_npz(path, contract.PREDICTION_KEYS)
        rows = len(self.split["y_test"])
        for name, proba in arrays.items():
            if proba.shape != (rows, len(self.class_names)):
                raise KdedgeError(f"{path}: {name} has shape {proba.shape}, expected "
                                  f"({rows}, {len(self.class_names)}); re-run `kdedge distill`")
        return arrays

    def load_model(self, name: str):
        """The torch module of model `name` in eval mode (imports torch); a stored
        scikit-learn model (`is_torch` false) has none: read its `weights` instead."""
        if not self.is_torch(name):
            raise KdedgeError(f"{name} is a {self._kind(name)} model stored as arrays, not a "
                              "torch module; export builds its ONNX from `Run.weights`")
        from kdedge.models import load_model

        return load_model(self, name)


def _read_npz(path: Path, keys) -> dict[str, np.ndarray]:
    """Plain numpy arrays of an .npz (no pickle); every key in `keys` must be there."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as exc:  # OSError, ValueError, zipfile.BadZipFile: a damaged archive
        raise KdedgeError(f"{path} cannot be read ({type(exc).__name__}: {exc}); "
                          "re-run `kdedge distill`") from exc
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise KdedgeError(f"{path} lacks {missing}; re-run `kdedge distill`")
    return arrays


def load_run(run_dir: str | Path) -> Run:
    """Read RUN/{run.json, metrics.json, models.json, preprocessing.json, split.npz}, checked."""
    path = Path(run_dir)
    manifest = rundir.read_manifest(path)

    def record(cls):
        return read_record(cls, rundir.verify_artifact(path, cls.FILE, manifest))

    split_path = rundir.verify_artifact(path, contract.SPLIT_NPZ, manifest)
    run = Run(path=path, manifest=manifest, metrics=record(Metrics), models=record(ModelsFile),
              preprocessing=record(Preprocessing), split=_read_npz(split_path, contract.SPLIT_KEYS))
    for key, names in (("feature_names", run.feature_names), ("class_names", run.class_names)):
        if [str(n) for n in run.split[key]] != names:
            raise KdedgeError(f"{path / contract.PREPROCESSING_JSON} lists {key} that differ from "
                              f"those of {split_path}; re-run `kdedge distill`")
    return run
