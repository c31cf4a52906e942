"""Did a change alter what kdedge computes? Compare two run directories of the same command.

    python benchmarks/check_unchanged.py REFERENCE_RUN NEW_RUN

Both runs must come from the same command (same data, seed and flags; use the same --out folder
name so run ids match). Reports, and fails on, any difference in: selected features, model
weights (safetensors tensors, bit for bit), the ONNX graphs (nodes, initializers, inputs and
outputs; metadata_props other than the version are compared too), and lists every metric that
differs with both values. Metric differences are printed, not failed: a refactor that scores
differently on purpose (e.g. on the stored float32 rows) shows them here for the record.
Reads JSON directly (not through kdedge.contract), so it can compare runs of different formats.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from safetensors.numpy import load_file


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _flatten(value, prefix: str = "") -> dict:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _graph_without_metadata(path: Path) -> bytes:
    model = onnx.load(str(path))
    del model.metadata_props[:]
    return model.graph.SerializeToString()


def compare(reference: Path, new: Path) -> list[str]:
    failures = []
    ref_pre, new_pre = _json(reference / "preprocessing.json"), _json(new / "preprocessing.json")
    for key in ("feature_names", "selected_features", "selected_index", "scaler", "class_names"):
        same = ref_pre[key] == new_pre[key]
        print(f"preprocessing {key:<18} {'same' if same else 'DIFFERENT'}")
        if not same:
            failures.append(f"preprocessing.{key}")
    for weights in sorted(p.name for p in reference.glob("*.safetensors")):
        a, b = load_file(reference / weights), load_file(new / weights)
        same = a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
        print(f"weights {weights:<26} {'bit-identical' if same else 'DIFFERENT'}")
        if not same:
            failures.append(weights)
    for graph in sorted(p.name for p in (reference / "onnx").glob("*.onnx")):
        if not (new / "onnx" / graph).is_file():
            print(f"onnx {graph:<29} MISSING in the new run")
            failures.append(graph)
            continue
        same = (_graph_without_metadata(reference / "onnx" / graph)
                == _graph_without_metadata(new / "onnx" / graph))
        print(f"onnx {graph:<29} {'graph identical' if same else 'DIFFERENT'}")
        if not same:
            failures.append(graph)
    for name in ("metrics.json", "export.json"):
        if not (reference / name).is_file() or not (new / name).is_file():
            continue
        a, b = _flatten(_json(reference / name)), _flatten(_json(new / name))
        skip = ("created", "versions", "kdedge_version", "run_id", "_format")
        changed = [k for k in sorted(set(a) | set(b))
                   if a.get(k) != b.get(k) and not any(s in k for s in skip)]
        print(f"{name}: {len(changed)} value(s) differ" + (":" if changed else ""))
        for key in changed:
            print(f"    {key}: {a.get(key, '(absent)')!r} → {b.get(key, '(absent)')!r}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args()
    failures = compare(args.reference, args.new)
    print("UNCHANGED" if not failures else f"CHANGED: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
