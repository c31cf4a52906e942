"""Export: run directory → parity-gated ONNX models (and quantized variants).

`export_run` is the stage (`kdedge export`); docs/export.md describes what it writes. It is
imported on first use, so `kdedge.export.quantize` and `kdedge.export.parity` (onnx and
onnxruntime only) load without torch.
"""

from kdedge.export.parity import ParityError
from kdedge.export.quantize import QUANTIZERS, QuantizeError

__all__ = ["QUANTIZERS", "ParityError", "QuantizeError", "export_run"]


def __getattr__(name: str):
    if name == "export_run":
        from kdedge.export.stage import export_run

        return export_run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
