"""Export: run directory → parity-gated ONNX models (and quantized variants)."""
