"""Torch model → self-contained ONNX classifier: `features` [batch, k] → probabilities, label.

The shipped graph is built from `kdedge.fold.fold_model`: scaler, BatchNorm and gates are already
folded into plain dense layers, so the student is Gemm [Gemm] Relu Gemm Softmax ArgMax and nothing
else. `torch.onnx.export` (the dynamo exporter, torch's default since 2.9, with its onnxscript
optimiser) writes it; we only strip the exporter's debug metadata (stack traces with local paths)
and add the kdedge.* metadata the device side reads.

Opset 18 is pinned: it is the opset torch's ONNX function library is written in (no version
conversion pass), every onnxruntime since 1.14 runs it, and the quantizers need >= 13.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings

import numpy as np
import onnx
import torch
from torch import nn

from kdedge.fold import FoldedModel
from kdedge.rundir import KdedgeError

OPSET = 18
INPUT_NAME = "features"
OUTPUT_NAMES = ("probabilities", "label")
# torch.export specialises a dimension whose example size is 1; 2 keeps the batch symbolic.
_EXAMPLE_BATCH = 2


class ExportCheckError(KdedgeError):
    """An exported graph fails the ONNX checker or does not have the kdedge interface (a bug)."""


class Classifier(nn.Module):
    """Logits module → (softmax probabilities [B, C], argmax label [B] int64)."""

    def __init__(self, logits: nn.Module):
        super().__init__()
        self.logits = logits

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probabilities = torch.softmax(self.logits(features), dim=-1)
        return probabilities, torch.argmax(probabilities, dim=-1)


class Standardise(nn.Module):
    """`(x - mean) / scale` in front of a model on standardised inputs (the unfolded form)."""

    def __init__(self, model: nn.Module, mean: np.ndarray, scale: np.ndarray):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean), dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(np.asarray(scale), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model((x - self.mean) / self.scale)


def folded_module(folded: FoldedModel) -> Classifier:
    """The folded dense chain as Linear/ReLU layers (float32) under softmax + argmax."""
    layers: list[nn.Module] = []
    for dense in folded.layers:
        linear = nn.Linear(dense.weight.shape[1], dense.weight.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(dense.weight.astype(np.float32)))
            linear.bias.copy_(torch.from_numpy(dense.bias.astype(np.float32)))
        layers.append(linear)
        if dense.relu:
            layers.append(nn.ReLU())
    return Classifier(nn.Sequential(*layers)).eval()


def unfolded_module(model: nn.Module, mean: np.ndarray, scale: np.ndarray) -> Classifier:
    """The trained model as it is, scaler in front: the 'before folding' graph."""
    return Classifier(Standardise(model, mean, scale)).eval()


@contextlib.contextmanager
def _quiet_exporter():
    """The dynamo exporter prints progress and logs optional-dependency warnings; keep them out."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
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


def set_metadata(model: onnx.ModelProto, metadata: dict[str, object]) -> onnx.ModelProto:
    """Replace the model's metadata_props; lists/dicts are stored as JSON, the rest as str."""
    props = {key: value if isinstance(value, str) else json.dumps(value)
             for key, value in metadata.items()}
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, props)
    return model


def check_onnx(model: onnx.ModelProto, *, name: str) -> dict:
    """Run the full ONNX checker and shape inference; return the interface it shows.

    Args:
        model: the model to check.
        name: its file name, for the error message.

    Returns:
        {"input": {name, shape, dtype}, "outputs": [{name, shape, dtype}, ...]}, shapes with
        symbolic dims as strings (e.g. ["batch", 6]).
    """
    try:
        onnx.checker.check_model(model, full_check=True)
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as exc:  # onnx raises ValidationError / InferenceError
        raise ExportCheckError(f"{name} fails the ONNX checker: {exc}") from exc
    graph = inferred.graph
    outputs = [_describe(value) for value in graph.output]
    if len(graph.input) != 1 or [o["name"] for o in outputs] != list(OUTPUT_NAMES):
        found = f"{[v.name for v in graph.input]} → {[o['name'] for o in outputs]}"
        raise ExportCheckError(f"{name}: expected input {INPUT_NAME!r} and outputs "
                               f"{OUTPUT_NAMES}, got {found}")
    if any(not isinstance(d, (int, str)) for o in outputs for d in o["shape"]):
        raise ExportCheckError(f"{name}: shape inference leaves an output shape unknown: "
                               f"{outputs}")
    external = [t.name for t in graph.initializer
                if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise ExportCheckError(f"{name} keeps tensors {external} in external data")
    return {"input": _describe(graph.input[0]), "outputs": outputs}


def _describe(value: onnx.ValueInfoProto) -> dict:
    tensor = value.type.tensor_type
    shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
             for d in tensor.shape.dim]
    return {"name": value.name, "shape": shape,
            "dtype": onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name}
