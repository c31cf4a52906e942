"""The device runtime: benchmark ONNX models with onnxruntime. Imports no torch."""
