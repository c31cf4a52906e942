"""The inference form of a model: a plain chain of dense layers with everything constant folded.

At batch 1 every ONNX node costs onnxruntime call overhead, so the deployed graph should be the
cheapest exact one that stays well-conditioned. Folding (all exact up to float rounding):
- the scaler `(x - mean) / scale` is split: the inputs are centred by one subtraction of the
  training mean (`centre`, rounded to float32; its rounding residue goes into the bias), and
  1/scale is folded into the first layer: W' = W / scale, b' = b - W' @ (mean - centre);
- BatchNorm (eval statistics) into the preceding Linear;
- the student's factor gates into the factor weights: diag(sigmoid(g)) U;
- factors whose gate is below `gate_threshold` are dropped (their output is ~0);
- the low-rank pair (factor layer, first head layer) has no activation between them, so it is
  merged into one dense layer when k·h < k·r + r·h multiply-accumulates.

Why the centring is not folded too when offsets are large (W' x + (b - W' mean), one node
fewer — what `fold_model` does when every |mean| <= 4 std, as on standardised-looking data): for a
feature with a
large offset (mean 1000, std 0.01) that first layer computes a small difference of large numbers,
W'_j x_j ~ 1e5 against a result ~1. float32 loses the feature's information to rounding (parity
with PyTorch 7e-3 instead of 4e-7 on such a set) and bf16/fp16 runtimes (OpenVINO's default on
a bf16 CPU) flip half the labels; centred, every product is of the size of the result
(benchmarks/check_conditioning.py, docs/results-conditioning.md). The subtraction is exact for
rows near the mean (Sterbenz) and is no multiply-accumulate.

`macs` of the folded chain is the per-sample multiply-accumulate count of the exported graph, which
`metrics.json` reports and the bench counts from the ONNX file. Hand-written because no library
folds a custom gated layer; it is plain linear algebra.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from kdedge.contract import Scaler
from kdedge.models import Student, Teacher

SCALER_STEP = ("scaler split: inputs centred by the training mean (one Sub node), 1/scale folded "
               "into the first layer")
BIAS_STEP = ("scaler folded into the first layer (every column's |mean| <= 4 std: little offset "
             "to cancel, so no centring node)")
# Centre the inputs in their own node only when some column's |mean| exceeds this many standard
# deviations: below it, folding the mean into the bias cancels under one decimal digit
# (log10(1 + 4) ≈ 0.7), and the node would only add call overhead (0.35–0.5 µs at batch 1, ~5% of
# the default student's call; the default data's largest |mean|/std is 0.99).
OFFSET_RATIO = 4.0


@dataclass
class DenseLayer:
    weight: np.ndarray  # [out, in] float64
    bias: np.ndarray  # [out]
    relu: bool  # ReLU after this layer

    @property
    def macs(self) -> int:
        return int(self.weight.shape[0] * self.weight.shape[1])


@dataclass
class FoldedModel:
    layers: list[DenseLayer]
    # subtracted from the raw inputs before the first layer (float64 holding float32 values, so
    # the graph's constant is exactly this); None: the chain reads raw inputs
    centre: np.ndarray | None = None
    steps: list[str] = field(default_factory=list)  # what was folded, for export.json
    dropped_factors: list[int] = field(default_factory=list)
    macs_before: int = 0

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def centre_in_bias(self) -> FoldedModel:
        """The same function as one Gemm on raw inputs: b' − W'·centre as the first bias.

        Ill-conditioned for features with large offsets (see the module docstring): `fold_model`
        uses it only when every |mean| <= OFFSET_RATIO · std; benchmarks/check_conditioning.py
        uses it to show what the centring node buys.
        """
        if self.centre is None:
            return self
        first = self.layers[0]
        bias = first.bias - first.weight @ self.centre
        steps = [BIAS_STEP if step == SCALER_STEP else step for step in self.steps]
        return FoldedModel(layers=[DenseLayer(first.weight, bias, first.relu)] + self.layers[1:],
                           steps=steps, dropped_factors=list(self.dropped_factors),
                           macs_before=self.macs_before)

    def forward(self, x_raw: np.ndarray) -> np.ndarray:
        """Logits for raw (unscaled) rows, in float64: the reference the export is checked against."""
        h = np.asarray(x_raw, dtype=np.float64)
        if self.centre is not None:
            h = h - self.centre
        for layer in self.layers:
            h = h @ layer.weight.T + layer.bias
            if layer.relu:
                h = np.maximum(h, 0.0)
        return h


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def _linear_chain(modules: list[nn.Module]) -> list[DenseLayer]:
    """Turn Linear [BatchNorm] [ReLU] … into dense layers with BatchNorm folded in."""
    layers: list[DenseLayer] = []
    for module in modules:
        if isinstance(module, nn.Linear):
            layers.append(DenseLayer(_np(module.weight), _np(module.bias), relu=False))
        elif isinstance(module, nn.BatchNorm1d):
            factor = _np(module.weight) / np.sqrt(_np(module.running_var) + module.eps)
            last = layers[-1]
            last.weight = last.weight * factor[:, None]
            last.bias = (last.bias - _np(module.running_mean)) * factor + _np(module.bias)
        elif isinstance(module, nn.ReLU):
            layers[-1].relu = True
        else:
            raise TypeError(f"cannot fold {type(module).__name__}")
    return layers


def fold_model(model: nn.Module, scaler: Scaler, *, gate_threshold: float = 1e-6) -> FoldedModel:
    """Fold `model` (teacher or student, eval statistics) and its scaler into dense layers.

    Args:
        model: a Teacher or Student.
        scaler: the scaler over this model's own inputs (in its input order).
        gate_threshold: factors whose gate sigmoid(g) is below this are dropped.
    """
    steps = [SCALER_STEP]
    dropped: list[int] = []
    if isinstance(model, Teacher):
        layers = _linear_chain(list(model.net))
        macs_before = sum(layer.macs for layer in layers)
        if model.config.batchnorm:
            steps.append("BatchNorm folded into the preceding Linear")
    elif isinstance(model, Student):
        gates = _np(model.gates())
        factors = DenseLayer(_np(model.factors.weight) * gates[:, None],
                             _np(model.factors.bias) * gates, relu=False)
        head = _linear_chain(list(model.head))
        macs_before = factors.macs + sum(layer.macs for layer in head)
        steps.append("factor gates folded into the factor weights")
        keep = gates >= gate_threshold
        dropped = [int(i) for i in np.flatnonzero(~keep)]
        if dropped:
            # A dropped factor's output (gate·(u·x + c)) is ~0; the head's first layer loses its
            # input column. Keep at least one factor so the graph stays well-formed.
            keep[np.argmax(gates)] = True
            dropped = [int(i) for i in np.flatnonzero(~keep)]
            factors = DenseLayer(factors.weight[keep], factors.bias[keep], relu=False)
            head[0].weight = head[0].weight[:, keep]
            steps.append(f"dropped {len(dropped)} factors with gate < {gate_threshold:g}")
        first = head[0]
        k, r, h = factors.weight.shape[1], factors.weight.shape[0], first.weight.shape[0]
        if k * h < k * r + r * h:
            merged = DenseLayer(first.weight @ factors.weight,
                                first.weight @ factors.bias + first.bias, relu=first.relu)
            layers = [merged] + head[1:]
            steps.append(f"low-rank pair merged into one dense layer ({k * h} < {k * r + r * h} MACs)")
        else:
            layers = [factors] + head
    else:
        raise TypeError(f"fold_model takes a Teacher or Student, not {type(model).__name__}")

    centre = _fold_scaler(layers[0], scaler)
    folded = FoldedModel(layers=layers, centre=centre, steps=steps, dropped_factors=dropped,
                         macs_before=macs_before)
    return folded if needs_centring(scaler) else folded.centre_in_bias()


def needs_centring(scaler: Scaler) -> bool:
    """Whether some column's |mean| exceeds OFFSET_RATIO standard deviations (see its comment)."""
    return bool(np.any(np.abs(scaler.mean_array) > OFFSET_RATIO * scaler.scale_array))


def _fold_scaler(first: DenseLayer, scaler: Scaler) -> np.ndarray:
    """Fold 1/scale into `first` (in place) and return the centre its inputs are reduced by.

    W (z) + b with z = (x - mean) / scale equals W' (x - centre) + b' for W' = W / scale and
    b' = b - W' (mean - centre); the centre is the mean rounded to float32, so the residue
    mean - centre is tiny and b' is as well-conditioned as b.
    """
    mean, scale = scaler.mean_array, scaler.scale_array
    centre = mean.astype(np.float32).astype(np.float64)
    first.weight = first.weight / scale[None, :]
    first.bias = first.bias - first.weight @ (mean - centre)
    return centre
