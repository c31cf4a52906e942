"""The teacher MLP and the factorized student, built from their models.json records
(`kdedge.contract.TeacherConfig` / `StudentConfig`), and their static cost.

Both models take standardised inputs (`kdedge.contract.Scaler.transform`); export folds the
scaler into the graph.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from kdedge.contract import StudentConfig, TeacherConfig
from kdedge.rundir import KdedgeError


def default_rank(n_features: int) -> int:
    """About two thirds of the inputs (6 features → 4 factors): a bottleneck, yet rarely lossy."""
    return max(1, math.ceil(2 * n_features / 3))


class Teacher(nn.Module):
    """The teacher MLP: Linear [BatchNorm] ReLU per hidden width, then a Linear to the logits."""

    def __init__(self, config: TeacherConfig):
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width = config.n_features
        for hidden in config.hidden:
            layers.append(nn.Linear(width, hidden))
            if config.batchnorm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(nn.ReLU())
            width = hidden
        layers.append(nn.Linear(width, config.n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, n_features] → logits [B, C]
        return self.net(x)


class Student(nn.Module):
    """The gated low-rank student: logits = head(factors(x) · sigmoid(gate_logits))."""

    def __init__(self, config: StudentConfig):
        super().__init__()
        if not 1 <= config.rank:
            raise ValueError(f"rank must be >= 1, got {config.rank}")
        self.config = config
        self.factors = nn.Linear(config.n_features, config.rank)  # [B, k] → [B, r]
        # Gate logits start at 2 (gate ≈ 0.88): every factor open, free to close during training.
        self.gate_logits = nn.Parameter(torch.full((config.rank,), 2.0))
        layers: list[nn.Module] = []
        width = config.rank
        for hidden in config.hidden:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, config.n_classes))
        self.head = nn.Sequential(*layers)

    def gates(self) -> torch.Tensor:
        """Each factor's gate in (0, 1), shape [rank]."""
        return torch.sigmoid(self.gate_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, k] → logits [B, C]
        return self.head(self.factors(x) * self.gates())


def build_model(config: TeacherConfig | StudentConfig) -> nn.Module:
    """A fresh model of the architecture `config` describes (a record of models.json)."""
    if isinstance(config, TeacherConfig):
        return Teacher(config)
    if isinstance(config, StudentConfig):
        return Student(config)
    raise TypeError(f"build_model takes a TeacherConfig or StudentConfig, not "
                    f"{type(config).__name__}")


def load_model(run, name: str) -> nn.Module:
    """Rebuild model `name` of a run (`kdedge.artifacts.Run`) in eval mode from models.json and
    its sha256-checked safetensors."""
    from safetensors.torch import load

    path = run.weights_path(name)
    model = build_model(run.models.config(name))
    try:
        model.load_state_dict(load(path.read_bytes()))
    except Exception as exc:
        raise KdedgeError(f"{path} does not hold the weights models.json describes ({exc}); "
                          "re-run `kdedge distill`") from exc
    return model.eval()


def count_params(model: nn.Module) -> int:
    """Trainable parameters (BatchNorm running statistics are buffers, not parameters)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the float tensors the model stores (parameters and BatchNorm statistics)."""
    tensors = list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]
    return sum(t.numel() * t.element_size() for t in tensors)
