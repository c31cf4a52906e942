"""The one ONNX interface check (`kdedge.runtime.interface`), through both of its callers: export's
`write_graph` (raises) and the device side's `read_model_info` (reports `info.error`).

Each case takes the real exported student and breaks exactly one rule. (Torch-free apart from
the session fixture; mirrors runtime/interface.py, kept next to the export tests that own it.)
"""

from __future__ import annotations

import json
import re

import onnx
import pytest
from onnx import TensorProto, helper

from kdedge.artifacts import load_run
from kdedge.contract import INPUT_NAME, OUTPUT_NAMES, OnnxMetadata, TensorSpec, onnx_file
from kdedge.export.stage import write_graph
from kdedge.runtime.interface import InterfaceError, check_interface
from kdedge.runtime.models import read_model_info


def _set_nodes(model: onnx.ModelProto, nodes: list) -> None:
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def _feed_first_layer_from(model: onnx.ModelProto, tensor: str) -> None:
    first = model.graph.node[0]
    first.input[0] = tensor


def _set_prop(model: onnx.ModelProto, field: str, value: str) -> None:
    key = OnnxMetadata.PREFIX + field
    next(p for p in model.metadata_props if p.key == key).value = value


def _externalise(model: onnx.ModelProto, location: str) -> None:
    """Mark every initializer as stored in `location` (the rule fires before any data is read)."""
    for tensor in model.graph.initializer:
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", location


def _broken_node(model):
    del model.graph.node[0]  # the first Gemm: its output is now undefined


def _renamed_input(model):
    model.graph.input[0].name = "x"
    _feed_first_layer_from(model, "x")


def _second_input(model):
    model.graph.input.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT,
                                                           ["batch", 1]))


def _double_input(model):
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.DOUBLE
    _feed_first_layer_from(model, "features_f")
    cast = helper.make_node("Cast", [INPUT_NAME], ["features_f"], to=TensorProto.FLOAT)
    _set_nodes(model, [cast] + list(model.graph.node))


def _fixed_batch(model):
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1


def _symbolic_k(model):
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "k"


def _swapped_outputs(model):
    outputs = list(model.graph.output)[::-1]
    del model.graph.output[:]
    model.graph.output.extend(outputs)


def _int32_label(model):
    argmax = model.graph.node[-1]
    argmax.output[0] = "label_int64"
    cast = helper.make_node("Cast", ["label_int64"], [OUTPUT_NAMES[1]], to=TensorProto.INT32)
    _set_nodes(model, list(model.graph.node) + [cast])
    model.graph.output[1].type.tensor_type.elem_type = TensorProto.INT32


def _label_keepdims(model):
    argmax = model.graph.node[-1]
    next(a for a in argmax.attribute if a.name == "keepdims").i = 1
    model.graph.output[1].type.tensor_type.shape.dim.add().dim_value = 1


CASES = {
    "checker": (_broken_node, "fails the ONNX checker"),
    "input name": (_renamed_input, r"expected input 'features' and outputs "
                                   r"\('probabilities', 'label'\), got \['x'\]"),
    "two inputs": (_second_input, r"got \['features', 'extra'\]"),
    "input dtype": (_double_input, r"'features' must be float32 \[batch, k\] .*found float64"),
    "fixed batch": (_fixed_batch, r"'features' must be float32 \[batch, k\] .*found float32 "
                                  r"\[1, 6\]"),
    "symbolic k": (_symbolic_k, r"found float32 \['batch', 'k'\]"),
    "output order": (_swapped_outputs, r"got \['features'\] → \['label', 'probabilities'\]"),
    "label dtype": (_int32_label, r"'label' must be int64 \[batch\] .*found int32"),
    "label rank": (_label_keepdims, r"'label' must be int64 \[batch\] .*\['batch', 1\]"),
    "feature names": (lambda m: _set_prop(m, "feature_names", json.dumps(list("abcde"))),
                      "input 'features' takes 6 features but metadata kdedge.feature_names "
                      "lists 5"),
    "class names": (lambda m: _set_prop(m, "class_names", json.dumps(list("abc"))),
                    "output 'probabilities' has 2 classes but metadata kdedge.class_names "
                    "lists 3"),
    "names not json": (lambda m: _set_prop(m, "class_names", "zero, one"),
                       "metadata kdedge.class_names is not a JSON list"),
    "names not text": (lambda m: _set_prop(m, "feature_names", json.dumps(list(range(6)))),
                       "metadata kdedge.feature_names must be a JSON list of strings"),
    "external outside": (lambda m: _externalise(m, "../weights.bin"),
                         r"keeps its data in '../weights.bin', outside the model's folder"),
    "external missing": (lambda m: _externalise(m, "weights.bin"),
                         r"keeps its data in 'weights.bin', which is missing"),
}


def _export_entry(model: onnx.ModelProto, folder, run) -> str:
    with pytest.raises(InterfaceError) as info:
        write_graph(run, "student", "fp32", model, folder)
    assert "a kdedge bug" in str(info.value)
    return str(info.value)


def _runtime_entry(model: onnx.ModelProto, folder, run) -> str:
    path = folder / "student.onnx"
    path.write_bytes(model.SerializeToString())
    info = read_model_info(path)
    assert info.error is not None and str(path) in info.error
    assert "re-export it with `kdedge export RUN_DIR --force`" in info.error
    return info.error


@pytest.fixture(scope="module")
def student(full_run):
    return onnx.load(full_run / onnx_file("student"))


@pytest.mark.parametrize("entry", [_export_entry, _runtime_entry], ids=["export", "runtime"])
@pytest.mark.parametrize("case", list(CASES))
def test_check_interface_each_rule_fails_its_graph(full_run, student, tmp_path, entry, case):
    model = onnx.ModelProto()
    model.CopyFrom(student)
    breaks, message = CASES[case]
    breaks(model)
    error = entry(model, tmp_path, load_run(full_run))
    assert re.search(message, error), error


def test_check_interface_passes_the_real_student_from_both_entries(full_run, student, tmp_path):
    run = load_run(full_run)
    graph = write_graph(run, "student", "fp32", student, tmp_path / "export")
    (tmp_path / "device").mkdir()
    path = tmp_path / "device" / "student.onnx"
    path.write_bytes(student.SerializeToString())
    info = read_model_info(path)
    assert info.error is None
    assert graph.interface.input == TensorSpec(name=INPUT_NAME, shape=["batch", 6],
                                               dtype="float32")
    assert (info.input_name, info.n_features) == (INPUT_NAME, graph.interface.n_features)
    assert info.outputs == [(OUTPUT_NAMES[0], TensorProto.FLOAT, [None, 2]),
                            (OUTPUT_NAMES[1], TensorProto.INT64, [None])]
    assert info.feature_names == graph.interface.feature_names == run.input_names("student")
    assert info.class_names == graph.interface.class_names == run.class_names


def test_check_interface_resolves_external_data_next_to_the_file(student, tmp_path):
    """The ONNX checker runs on the path, so weights kept in a file beside the model load."""
    path = tmp_path / "student.onnx"
    onnx.save(student, path, save_as_external_data=True, location="student.data",
              size_threshold=0)
    assert (tmp_path / "student.data").is_file()
    loaded = onnx.load(path, load_external_data=False)
    assert check_interface(loaded, name=path.name, path=path).n_features == 6
    assert read_model_info(path).error is None


def test_check_interface_in_memory_refuses_external_data(student):
    model = onnx.ModelProto()
    model.CopyFrom(student)
    _externalise(model, "student.data")
    with pytest.raises(InterfaceError, match="a graph checked in memory must hold its tensors"):
        check_interface(model, name="student.onnx")


@pytest.mark.parametrize("kind", ["linear", "gbdt"])
def test_check_interface_passes_the_sklearn_baselines_from_the_device_entry(tmp_path, kind):
    """The exported baselines (MatMul, or an ai.onnx.ml TreeEnsembleRegressor) are kdedge
    graphs: the device side reads them without an error."""
    from sklearn_kit import fitted, graph

    _, _, _, config, arrays = fitted(kind, 3)
    path = tmp_path / "hgb_all.onnx"
    onnx.save(graph(config, arrays), path)
    info = read_model_info(path)
    assert info.error is None
    assert (info.n_features, len(info.class_names)) == (config.n_features, 3)


def test_check_interface_refuses_a_tree_graph_without_the_ml_opset_import():
    from sklearn_kit import fitted, graph

    _, _, _, config, arrays = fitted("gbdt", 3)
    model = graph(config, arrays)
    imports = [o for o in model.opset_import if o.domain != "ai.onnx.ml"]
    del model.opset_import[:]
    model.opset_import.extend(imports)
    with pytest.raises(InterfaceError, match="fails the ONNX checker.*ai.onnx.ml"):
        check_interface(model, name="hgb_all.onnx")
