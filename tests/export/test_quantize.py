import logging
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest

from kdedge.artifacts import load_run
from kdedge.contract import EXPORT_JSON, INPUT_NAME, ExportSummary, OnnxMetadata, onnx_file, read_record
from kdedge.export.parity import make_session, onnx_outputs
from kdedge.export.quantize import (QUANTIZERS, QuantizeError, _check_first_layer_float,
                                    _first_layer, _quiet_quantizer, parse_quantize)
from kdedge.rundir import KdedgeError
from kdedge.runtime.interface import check_interface


@pytest.fixture(autouse=True)
def always_centre(monkeypatch):
    """These tests are about the centred form (a Sub node before the first layer), which
    fold_model uses for data with large offsets; force it on the test data's small offsets."""
    monkeypatch.setattr("kdedge.fold.OFFSET_RATIO", 0.0)


@pytest.mark.parametrize("value, expected", [
    (None, []),
    (False, []),
    (True, ["int8"]),
    ("int8", ["int8"]),
    ("all", ["int8", "int8-static", "fp16"]),
    ("fp16,int8", ["int8", "fp16"]),
    (["int8-static", "fp16"], ["int8-static", "fp16"]),
    (" FP16 , fp16", ["fp16"]),
])
def test_parse_quantize_values(value, expected):
    assert parse_quantize(value) == expected


@pytest.mark.parametrize("value", ["int4", "int8,bf16", ["fp16", "fp8"]])
def test_parse_quantize_unknown_lists_valid(value):
    with pytest.raises(KdedgeError, match="choose from int8, int8-static, fp16 or all"):
        parse_quantize(value)


def _metadata(model: onnx.ModelProto) -> OnnxMetadata:
    return OnnxMetadata.from_props({p.key: p.value for p in model.metadata_props})


@pytest.mark.parametrize("variant", list(QUANTIZERS))
def test_quantize_variant_keeps_the_device_interface(full_run, variant):
    path = full_run / onnx_file("student", variant)
    fp32_path = full_run / onnx_file("student")
    model, fp32 = onnx.load(path), onnx.load(fp32_path)
    interface = check_interface(model, name=path.name, path=path)
    assert interface == check_interface(fp32, name=fp32_path.name, path=fp32_path)
    meta, fp32_meta = _metadata(model), _metadata(fp32)
    assert meta.variant == variant and fp32_meta.variant == "fp32"
    fp32_meta.variant = variant
    assert meta == fp32_meta  # every other kdedge.* key as in the fp32 student


@pytest.mark.parametrize("variant, min_agreement", [("int8", 0.99), ("int8-static", 0.99),
                                                     ("fp16", 0.999)])
def test_quantize_variant_agrees_with_fp32(full_run, variant, min_agreement):
    x = load_run(full_run).input_rows("student")
    _, fp32_labels = onnx_outputs(make_session(onnx.load(full_run / onnx_file("student"))), x)
    model = onnx.load(full_run / onnx_file("student", variant))
    _, labels = onnx_outputs(make_session(model), x)
    assert np.mean(labels == fp32_labels) >= min_agreement


@pytest.mark.parametrize("variant, quantized_op", [("int8", "MatMulInteger"),
                                                   ("int8-static", "DequantizeLinear")])
def test_quantize_int8_keeps_the_centring_and_first_layer_float(centred_run, variant, quantized_op):
    model = onnx.load(centred_run / onnx_file("student", variant))
    readers = [n for n in model.graph.node if INPUT_NAME in n.input]
    assert [n.op_type for n in readers] == ["Sub"]  # raw features: the float32 centring only
    layer = [n.op_type for n in model.graph.node if readers[0].output[0] in n.input]
    assert layer in (["Gemm"], ["MatMul"])  # centred features never enter a quantize op
    ops = [n.op_type for n in model.graph.node]
    assert quantized_op in ops  # ...while the later layers are quantized
    int8 = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert int8, "no int8 weights in the graph"


def test_quantize_int8_static_is_per_channel(full_run):
    model = onnx.load(full_run / onnx_file("student", "int8-static"))
    weights = {t.name: t for t in model.graph.initializer}
    dequantized = [n for n in model.graph.node if n.op_type == "DequantizeLinear"
                   and weights.get(n.input[0]) is not None
                   and weights[n.input[0]].data_type == onnx.TensorProto.INT8
                   and len(weights[n.input[0]].dims) == 2]
    assert dequantized
    for node in dequantized:
        scale = weights[node.input[1]]
        assert list(scale.dims) == [weights[node.input[0]].dims[0]]  # one scale per output row


def test_quantize_fp16_stores_float16_weights_after_a_float32_centring(centred_run):
    model = onnx.load(centred_run / onnx_file("student", "fp16"))
    first = model.graph.node[0]
    assert (first.op_type, first.input[0]) == ("Sub", INPUT_NAME)  # no float16 round trip first
    types = {t.name: t.data_type for t in model.graph.initializer}
    assert types.pop(first.input[1]) == onnx.TensorProto.FLOAT  # the centre stays float32
    assert set(types.values()) == {onnx.TensorProto.FLOAT16}
    assert 0.0 < read_record(ExportSummary, centred_run / EXPORT_JSON).models["student.fp16"].max_abs_diff_vs_fp32 < 1e-2


def test_quantize_fp16_writes_matmul_add_not_gemm(centred_run):
    """tract cannot translate a float16 Gemm; MatMul + Add is the same arithmetic."""
    model = onnx.load(centred_run / onnx_file("student", "fp16"))
    ops = [n.op_type for n in model.graph.node]
    assert "Gemm" not in ops and ops.count("MatMul") == ops.count("Add") == 3
    assert ops[:2] == ["Sub", "Cast"] and ops[-1] == "Cast"  # float32 interface both ends
    onnx.checker.check_model(model, full_check=True)


def test_quantize_variants_keep_large_offsets():
    """On inputs at 1000 ± 0.01 and 5e4 ± 3 every variant still agrees with the fp32 graph:
    the centring reads the float32 input before anything is rounded."""
    import torch

    from kdedge.contract import Scaler
    from kdedge.export.onnx_export import export_onnx, folded_module
    from kdedge.fold import fold_model
    from kdedge.models import Student, StudentConfig

    torch.manual_seed(0)
    student = Student(StudentConfig(n_features=3, n_classes=2, rank=2, hidden=[8])).eval()
    z = np.random.default_rng(2).normal(size=(512, 3))
    rows = (np.array([1000.0, 5e4, 0.0]) + z * [0.01, 3.0, 1.0]).astype(np.float32)
    folded = fold_model(student, Scaler.fit(rows.astype(np.float64)))
    logits = folded.forward(rows)  # a random student: move its boundary into the rows
    folded.layers[-1].bias[1] -= np.median(logits[:, 1] - logits[:, 0])
    fp32 = export_onnx(folded_module(folded), n_features=3)
    _, fp32_labels = onnx_outputs(make_session(fp32), rows)
    assert 0.1 < np.mean(fp32_labels) < 0.9  # both classes: agreement means something
    for variant, quantize in QUANTIZERS.items():
        _, labels = onnx_outputs(make_session(quantize(fp32, calibration=rows[:256])), rows)
        assert np.mean(labels == fp32_labels) >= 0.99, variant


def _paired(fp32_right: int, variant_right: int, n: int = 1000):
    """paired_vs_fp32 for a variant that gets `variant_right` of `fp32_right` discordant rows."""
    from kdedge.verdicts import bootstrap_weights, paired_accuracy

    y = np.zeros(n, dtype=np.int64)
    fp32, variant = y.copy(), y.copy()
    fp32[:variant_right] = 1  # rows only the variant gets right
    variant[variant_right:variant_right + fp32_right] = 1  # rows only fp32 gets right
    return paired_accuracy(y, fp32, variant, a="student", b="student.int8",
                           weights=bootstrap_weights(n, seed=0))


@pytest.mark.parametrize("agreement, only_fp32, only_variant, rules", [
    (0.99, 5, 5, []),  # exactly the agreement bound, no paired loss: accepted
    (0.989, 6, 5, ["agreement rule"]),  # one row more: another model
    (0.993, 7, 0, ["paired-loss rule"]),  # 7 rows lost, none gained: McNemar p = 0.016
    (0.97, 30, 0, ["agreement rule", "paired-loss rule", "accuracy-drop rule"]),
])
def test_judge_names_every_rule_a_variant_fails(agreement, only_fp32, only_variant, rules):
    from kdedge.contract import MIN_AGREEMENT_FP32
    from kdedge.export.stage import judge

    paired = _paired(only_fp32, only_variant)
    verdict, reason = judge("int8", accuracy=paired.value_b, fp32_accuracy=paired.value_a,
                            reject_threshold=0.01, agreement_fp32=agreement, paired=paired)
    assert MIN_AGREEMENT_FP32 == 0.99
    assert verdict == ("rejected" if rules else "accepted")
    named = [rule for rule in ("agreement rule", "paired-loss rule", "accuracy-drop rule")
             if rule in (reason or "")]
    assert named == rules


def test_judge_never_rejects_fp32():
    from kdedge.export.stage import judge

    assert judge("fp32", accuracy=0.1, fp32_accuracy=0.9, reject_threshold=0.01,
                 agreement_fp32=0.5, paired=_paired(50, 0)) == ("accepted", None)


# A graph whose raw-feature input feeds two nodes, and one whose input enters a quantize op:
# the two first-layer rules, broken. Built as source so a `python -O` subprocess can run it.
_BROKEN_GRAPHS = textwrap.dedent("""
    from onnx import TensorProto, helper

    def graph(nodes):
        return helper.make_model(helper.make_graph(
            nodes, "g", [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 2])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])]))

    two_readers = graph([helper.make_node("Relu", ["features"], ["a"], name="relu"),
                         helper.make_node("Add", ["features", "a"], ["y"], name="add")])
    quantized_input = graph([
        helper.make_node("DynamicQuantizeLinear", ["features"], ["q", "s", "z"], name="dq"),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="dd")])
""")


def test_quantize_first_layer_rules_raise_quantize_error():
    namespace: dict = {}
    exec(_BROKEN_GRAPHS, namespace)
    with pytest.raises(QuantizeError, match=r"expected one named node reading the input, found "
                                            r"\['relu', 'add'\]"):
        _first_layer(namespace["two_readers"])
    with pytest.raises(QuantizeError, match=r"int8: onnxruntime quantized the raw-feature input "
                                            r"\(\['DynamicQuantizeLinear'\]\)"):
        _check_first_layer_float(namespace["quantized_input"], "int8")
    assert issubclass(QuantizeError, KdedgeError)  # the CLI reports it and exits 2


def test_quantize_first_layer_rules_survive_python_O():
    """`python -O` strips assert statements; the first-layer rules must still raise."""
    script = _BROKEN_GRAPHS + textwrap.dedent("""
        from kdedge.export.quantize import QuantizeError, _check_first_layer_float, _first_layer
        for check, model in ((_first_layer, two_readers),
                             (lambda m: _check_first_layer_float(m, "int8"), quantized_input)):
            try:
                check(model)
            except QuantizeError:
                print("raised")
    """)
    result = subprocess.run([sys.executable, "-O", "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["raised", "raised"]


def test_quiet_quantizer_is_scoped_and_restores_the_root_logger(monkeypatch, capsys):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in a plain `kdedge` process
    monkeypatch.setattr(root, "level", logging.INFO)
    with _quiet_quantizer():
        logging.warning("advice from the quantizer")  # module-level: runs basicConfig()
        logging.error("a real quantizer error")
    assert root.handlers == [] and root.level == logging.INFO
    assert logging.root.manager.disable == logging.NOTSET  # no process-wide switch
    err = capsys.readouterr().err
    assert "a real quantizer error" in err and "advice from the quantizer" not in err
