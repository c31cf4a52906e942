"""kdedge: distil a tabular classifier into a small k-feature student and put it on a device.

Importing kdedge is cheap and never imports torch: the training side (distill, export, report) is
imported by the stage that needs it, and the device runtime (`kdedge.runtime`) needs only numpy,
onnx and onnxruntime.
"""

__version__ = "0.1.0"
