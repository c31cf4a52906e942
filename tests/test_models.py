import shutil

import pytest
import torch

from kdedge import contract, rundir
from kdedge.artifacts import load_run
from kdedge.contract import KDConfig, ModelsFile, StudentConfig, TeacherConfig
from kdedge.models import (Student, Teacher, build_model, count_params, default_rank, load_model,
                           weight_bytes)
from kdedge.rundir import KdedgeError


def test_count_params_seed_teacher_is_37506():
    teacher = Teacher(TeacherConfig(n_features=13, n_classes=2))
    # 13·256+256 + 2·256 (BN) + 256·128+128 + 2·128 (BN) + 128·2+2
    assert count_params(teacher) == 37_506


def test_count_params_student_known_answer():
    student = Student(StudentConfig(n_features=6, n_classes=2, rank=4, hidden=[32]))
    # factors 6·4+4, gates 4, head 4·32+32 + 32·2+2
    assert count_params(student) == 28 + 4 + 160 + 66 == 258


def test_weight_bytes_counts_parameters_and_batchnorm_statistics():
    teacher = Teacher(TeacherConfig(n_features=13, n_classes=2))
    assert weight_bytes(teacher) == (37_506 + 2 * (256 + 128)) * 4


@pytest.mark.parametrize("k,rank", [(1, 1), (3, 2), (6, 4), (10, 7)])
def test_default_rank_is_a_bottleneck(k, rank):
    assert default_rank(k) == rank
    assert default_rank(k) <= k


def test_student_forward_shape_and_gates_in_unit_interval():
    student = Student(StudentConfig(n_features=6, n_classes=3, rank=4, hidden=[16]))
    assert student(torch.zeros(5, 6)).shape == (5, 3)
    gates = student.gates()
    assert gates.shape == (4,) and bool(((gates > 0) & (gates < 1)).all())


def test_build_model_from_the_models_json_records():
    models = ModelsFile(teacher=TeacherConfig(n_features=5, n_classes=2, hidden=[8]),
                        student=StudentConfig(n_features=3, n_classes=2, rank=2, hidden=[4, 4]),
                        student_no_kd=StudentConfig(n_features=3, n_classes=2, rank=2),
                        kd=KDConfig())
    parsed = ModelsFile.from_json(models.to_json())
    for name, cls in (("teacher", Teacher), ("student", Student), ("student_no_kd", Student)):
        model = build_model(parsed.config(name))
        assert type(model) is cls and model.config == models.config(name)
    assert [m.out_features for m in build_model(parsed.teacher).net
            if isinstance(m, torch.nn.Linear)] == [8, 2]


def test_build_model_refuses_what_is_not_a_config():
    with pytest.raises(TypeError, match="TeacherConfig or StudentConfig, not dict"):
        build_model({"kind": "forest"})


def test_load_model_gives_the_stored_weights_in_eval_mode(small_run):
    run = load_run(small_run)
    model = load_model(run, "student")
    assert not model.training
    stored = run.weights("student")
    assert model.state_dict().keys() == stored.keys()
    for key, value in model.state_dict().items():
        assert (value.numpy() == stored[key]).all()


def test_load_model_refuses_weights_of_another_shape(small_run, tmp_path):
    """Weights whose sha256 run.json records but that models.json does not describe."""
    run_dir = shutil.copytree(small_run, tmp_path / "r")
    student = contract.weights_file("student")
    (run_dir / student).write_bytes((run_dir / contract.weights_file("teacher")).read_bytes())
    rundir.update_manifest(run_dir, stage="test", files=[student])
    with pytest.raises(KdedgeError, match="student.safetensors does not hold the weights"):
        load_model(load_run(run_dir), "student")
