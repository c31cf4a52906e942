import pytest
import torch

from kdedge.models import (Student, StudentConfig, Teacher, TeacherConfig, build_model,
                           config_dict, count_params, default_rank, weight_bytes)


def test_count_params_seed_teacher_is_37506():
    teacher = Teacher(TeacherConfig(n_features=13, n_classes=2))
    # 13·256+256 + 2·256 (BN) + 256·128+128 + 2·128 (BN) + 128·2+2
    assert count_params(teacher) == 37_506


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


def test_build_model_round_trips_config():
    for model in (Teacher(TeacherConfig(n_features=5, n_classes=2, hidden=[8])),
                  Student(StudentConfig(n_features=3, n_classes=2, rank=2, hidden=[4, 4]))):
        rebuilt = build_model(config_dict(model))
        assert type(rebuilt) is type(model) and rebuilt.config == model.config


def test_build_model_unknown_kind():
    with pytest.raises(ValueError, match="unknown model kind 'forest'"):
        build_model({"kind": "forest"})
