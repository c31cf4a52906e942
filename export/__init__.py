"""Export: run directory → parity-gated ONNX models (and quantized variants).

`export_run` is the stage (`kdedge export`); docs/export.md describes what it writes.
"""

from kdedge.export.parity import ParityError
from kdedge.export.quantize import QUANTIZERS
from kdedge.export.stage import export_run

__all__ = ["QUANTIZERS", "ParityError", "export_run"]
