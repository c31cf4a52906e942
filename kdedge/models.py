"""The teacher MLP and the factorized student, their configs, and their static cost.

Both models take standardised inputs `(x - mean) / scale`; export folds that into the graph.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
from torch import nn


@dataclass
class TeacherConfig:
    """The seed's teacher: n_features → 256 → 128 → n_classes, BatchNorm + ReLU after each hidden."""

    n_features: int
    n_classes: int
    hidden: list[int] = field(default_factory=lambda: [256, 128])
    batchnorm: bool = True
    kind: str = "teacher"


@dataclass
class StudentConfig:
    """A low-rank gated factor layer over the k selected features, then a small MLP head.

    `rank` factors: each is a learned linear combination of the k inputs, scaled by its own
    learned gate sigmoid(g) in (0, 1). rank < k makes the first layer a true low-rank bottleneck.
    """

    n_features: int
    n_classes: int
    rank: int
    hidden: list[int] = field(default_factory=lambda: [32])
    kind: str = "student"


def default_rank(n_features: int) -> int:
    """About two thirds of the inputs (6 features → 4 factors): a bottleneck, yet rarely lossy."""
    return max(1, math.ceil(2 * n_features / 3))


class Teacher(nn.Module):
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
        return torch.sigmoid(self.gate_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, k] → logits [B, C]
        return self.head(self.factors(x) * self.gates())


def build_model(config: dict | TeacherConfig | StudentConfig) -> nn.Module:
    """Rebuild a model from its config (as stored in models.json)."""
    if isinstance(config, dict):
        kind = config.get("kind")
        if kind == "teacher":
            config = TeacherConfig(**config)
        elif kind == "student":
            config = StudentConfig(**config)
        else:
            raise ValueError(f"unknown model kind {kind!r}; expected 'teacher' or 'student'")
    return Teacher(config) if isinstance(config, TeacherConfig) else Student(config)


def config_dict(model: nn.Module) -> dict:
    return asdict(model.config)


def count_params(model: nn.Module) -> int:
    """Trainable parameters (BatchNorm running statistics are buffers, not parameters)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the float tensors the model stores (parameters and BatchNorm statistics)."""
    tensors = list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]
    return sum(t.numel() * t.element_size() for t in tensors)
