"""The device runtime: benchmark and run exported ONNX models (numpy, onnx, onnxruntime only).

Modules: `bench` (`kdedge bench`), `graph_cost` (static MACs/params of a graph), `check` (output
dumps for cross-machine comparison), `machine`, `models`, `floor`, `latency`; `_worker.py` is the
subprocess that measures cold start and memory. Nothing here imports torch.
"""
