"""Torch model → self-contained ONNX classifier: `features` [batch, k] → probabilities, label.

The shipped graph is built from `kdedge.fold.fold_model`: BatchNorm, gates and 1/scale are already
folded into plain dense layers and the inputs are centred by one subtraction of the training mean
(kept apart so the first layer never computes a small difference of large numbers: see
kdedge/fold.py), so the student is Sub Gemm [Gemm] Relu Gemm Softmax ArgMax and nothing else.
`torch.onnx.export` (the dynamo exporter, torch's default since 2.9, with its onnxscript
optimiser) writes it; we only strip the exporter's debug metadata (stack traces with local paths)
and add the kdedge.* metadata the device side reads.

Opset 18 is pinned: it is the opset torch's ONNX function library is written in (no version
conversion pass), every onnxruntime since 1.14 runs it, and the quantizers need >= 13.
"""

from __future__ import annotations

import contextlib
import logging
import warnings

import numpy as np
import onnx
import torch
from torch import nn

from kdedge.contract import INPUT_NAME, OUTPUT_NAMES, Scaler
from kdedge.fold import FoldedModel

OPSET = 18
# torch.export specialises a dimension whose example size is 1; 2 keeps the batch symbolic.
_EXAMPLE_BATCH = 2


class Classifier(nn.Module):
    """Logits module → (softmax probabilities [B, C], argmax label [B] int64)."""

    def __init__(self, logits: nn.Module):
        super().__init__()
        self.logits = logits

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probabilities = torch.softmax(self.logits(features), dim=-1)
        return probabilities, torch.argmax(probabilities, dim=-1)


class Standardise(nn.Module):
    """The scaler in front of a model on standardised inputs (the unfolded form), as graph ops.

    `Scaler.transform` is the numpy form of the same `(x - mean) / scale`; here it has to be
    torch ops so that the exporter writes it into the "before folding" graph (Sub, Div).
    """

    def __init__(self, model: nn.Module, scaler: Scaler):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.as_tensor(scaler.mean_array, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scaler.scale_array, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model((x - self.mean) / self.scale)


class Centre(nn.Module):
    """x − centre, the one part of the scaler not folded into the first layer (a Sub node)."""

    def __init__(self, centre: np.ndarray):
        super().__init__()
        self.register_buffer("centre", torch.as_tensor(centre, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.centre


def folded_module(folded: FoldedModel) -> Classifier:
    """The folded dense chain as [Centre] Linear/ReLU layers (float32) under softmax + argmax."""
    layers: list[nn.Module] = [] if folded.centre is None else [Centre(folded.centre)]
    for dense in folded.layers:
        linear = nn.Linear(dense.weight.shape[1], dense.weight.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(dense.weight.astype(np.float32)))
            linear.bias.copy_(torch.from_numpy(dense.bias.astype(np.float32)))
        layers.append(linear)
        if dense.relu:
            layers.append(nn.ReLU())
    return Classifier(nn.Sequential(*layers)).eval()


def unfolded_module(model: nn.Module, scaler: Scaler) -> Classifier:
    """The trained model as it is, scaler in front: the 'before folding' graph."""
    return Classifier(Standardise(model, scaler)).eval()


@contextlib.contextmanager
def _quiet_exporter():
    """Keep the exporter's chatter out of kdedge's output, for the duration of one export only.

    The exporter logs a warning per optional dependency it lacks ("torchvision is not installed")
    on the `torch.onnx` logger tree, and torch.export raises FutureWarning/DeprecationWarning
    about its own internals; neither is actionable by a kdedge user. So: that one logger's level
    is raised to ERROR and restored, and those two warning categories are ignored inside
    `warnings.catch_warnings`, which restores the filters on exit. Other warnings still show,
    and no process-wide switch (`logging.disable`, a redirected stdout) is touched.
    """
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


def export_onnx(module: Classifier, *, n_features: int, opset: int = OPSET) -> onnx.ModelProto:
    """Export `module` with a dynamic batch: input `features` float32 [batch, n_features].

    Returns:
        The model, in memory, with every tensor embedded (no external data).
    """
    example = torch.zeros(_EXAMPLE_BATCH, n_features, dtype=torch.float32)
    with _quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(
            module.eval(), (example,), None, dynamo=True, optimize=True, opset_version=opset,
            input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
            dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
    model = program.model_proto
    _strip_debug_info(model)
    return model


def _strip_debug_info(model: onnx.ModelProto) -> None:
    """Drop the exporter's per-node metadata (fx node, stack trace with local paths, scopes)."""
    graph = model.graph
    for item in list(graph.node) + list(graph.input) + list(graph.output) + \
            list(graph.value_info) + list(graph.initializer):
        del item.metadata_props[:]
        item.doc_string = ""
    del graph.metadata_props[:]
    graph.doc_string = ""


def set_metadata(model: onnx.ModelProto, props: dict[str, str]) -> onnx.ModelProto:
    """Replace the model's metadata_props with `props` (`OnnxMetadata(...).to_props()`)."""
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, props)
    return model
