"""Read a distill run back: configs, preprocessing, metrics, the split, and verified weights.

Used by export and report (training side: imports torch). Every weight file is checked against
the sha256 in run.json before it is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as load_safetensors

from kdedge import rundir
from kdedge.models import build_model
from kdedge.rundir import KdedgeError

MODEL_NAMES = ("teacher", "student", "student_no_kd")


@dataclass
class Run:
    """A distill run directory, read and checked."""

    path: Path
    manifest: dict
    metrics: dict
    models: dict  # models.json
    preprocessing: dict
    split: dict[str, np.ndarray]  # split.npz arrays

    @property
    def feature_names(self) -> list[str]:
        return list(self.preprocessing["feature_names"])

    @property
    def selected_features(self) -> list[str]:
        return list(self.preprocessing["selected_features"])

    @property
    def class_names(self) -> list[str]:
        return list(self.preprocessing["class_names"])

    def input_index(self, name: str) -> list[int]:
        """Columns of the raw feature table that model `name` reads, in its input order."""
        if self.models[name]["kind"] == "teacher":
            return list(range(len(self.feature_names)))
        return list(self.preprocessing["selected_index"])

    def scaler(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(mean, scale) over model `name`'s own inputs."""
        idx = self.input_index(name)
        scaler = self.preprocessing["scaler"]
        return np.asarray(scaler["mean"])[idx], np.asarray(scaler["scale"])[idx]

    def load_model(self, name: str) -> torch.nn.Module:
        """Rebuild model `name` in eval mode from models.json and its verified safetensors."""
        if name not in MODEL_NAMES:
            raise KdedgeError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
        path = rundir.verify_artifact(self.path, f"{name}.safetensors", self.manifest)
        model = build_model(self.models[name])
        try:
            state = load_safetensors(path.read_bytes())
            model.load_state_dict(state)
        except Exception as exc:
            raise KdedgeError(f"{path} does not hold the weights models.json describes ({exc}); "
                              "re-run `kdedge distill`") from exc
        return model.eval()


def load_run(run_dir: str | Path) -> Run:
    """Read RUN/{run.json, metrics.json, models.json, preprocessing.json, split.npz} and check them."""
    path = Path(run_dir)
    manifest = rundir.read_manifest(path)
    parts = {}
    for name in ("metrics.json", "models.json", "preprocessing.json"):
        parts[name] = rundir.read_json(rundir.verify_artifact(path, name, manifest))
    split_path = rundir.verify_artifact(path, "split.npz", manifest)
    with np.load(split_path, allow_pickle=False) as npz:
        split = {key: npz[key] for key in npz.files}
    run = Run(path=path, manifest=manifest, metrics=parts["metrics.json"],
              models=parts["models.json"], preprocessing=parts["preprocessing.json"], split=split)
    stored = [str(n) for n in split["feature_names"]]
    missing = [f for f in run.selected_features if f not in stored]
    if missing:
        raise KdedgeError(f"{path / 'preprocessing.json'} selects features {missing} that are not "
                          f"in the data of {split_path}; re-run `kdedge distill`")
    return run
