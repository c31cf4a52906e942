"""The device runtime: benchmark and run exported ONNX models (numpy, onnx, onnxruntime only).

Modules: `bench` (`kdedge bench`, writes a `kdedge.contract.BenchReport`), `graph_cost` (static
MACs/params of a graph), `check` (output dumps for cross-machine comparison), `interface` (the one
check of a kdedge graph's interface), `machine`, `models`, `floor`, `latency`; `_worker.py` is the
subprocess that measures cold start and memory. Nothing here imports torch.
"""
