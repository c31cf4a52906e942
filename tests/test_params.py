import math
import re

import pytest

from kdedge.params import (AnyOf, Flag, OneOf, Optional, Real, Text, TextList, Whole, WholeList,
                           check_params, from_cli)
from kdedge.rundir import KdedgeError

CASES = [  # constraint, accepted values, refused values, what the error says the flag must be
    (Whole(1), [1, 2, 10**9], [0, -1, 1.0, "3", True, None], "a whole number >= 1"),
    (Whole(2, 8), [2, 8], [1, 9], r"a whole number in \[2, 8\]"),
    (Whole(None, 5), [-3, 5], [6], "a whole number <= 5"),
    (Real(0, 1), [0, 0.5, 1, 1.0], [-0.01, 1.01, math.nan, True, "0.5"], r"a number in \[0, 1\]"),
    (Real(0, 1, closed="neither"), [0.2, 1e-9], [0, 1, 0.0], r"a number in \(0, 1\)"),
    (Real(0, None, closed="neither"), [1e-12, 3], [0, -1, math.inf], "a number > 0"),
    (Real(None, 10, closed="both"), [-5, 10], [10.5], "a number <= 10"),
    (OneOf(("int8", "fp16")), ["int8", "fp16"], ["int4", None], "one of int8, fp16"),
    (Text(), ["x", "path/to.csv"], ["", 8, None], "a non-empty text"),
    (Flag(), [True, False], [0, 1, "yes"], "true or false"),
    (WholeList(1), [[1], [1, 32]], [[], [0], [1, "2"], (1, 2), 5],
     r"whole numbers >= 1, comma-separated \(e\.g\. 1,32\)"),
    (TextList(), [[], ["a", "b"]], [["a", ""], "a", [1]], "names, comma-separated"),
    (Optional(Whole(1)), [None, 3], [0], r"a whole number >= 1 \(or omitted\)"),
    (AnyOf((Flag(), TextList())), [True, ["int8"]], ["int8", 3],
     "true or false or names, comma-separated"),
]


@pytest.mark.parametrize("constraint,good,bad,description", CASES)
def test_constraint_accepts_and_refuses_known_values(constraint, good, bad, description):
    assert [constraint.accepts(v) for v in good] == [True] * len(good)
    assert [constraint.accepts(v) for v in bad] == [False] * len(bad)


@pytest.mark.parametrize("constraint,good,bad,description", CASES)
def test_check_params_error_names_the_flag_the_valid_values_and_the_value(constraint, good, bad,
                                                                          description):
    check_params({"size": constraint}, {"size": good[0]})
    got = re.escape(repr(bad[0]))
    with pytest.raises(KdedgeError, match=rf"^--size must be {description}, got {got}$"):
        check_params({"size": constraint}, {"size": bad[0]})


def test_check_params_ignores_unconstrained_and_absent_names():
    check_params({"seed": Whole(0), "lr": Real(0, None)}, {"seed": 1, "self": object(), "x": -1})


def test_check_params_reports_the_first_refused_flag_in_declaration_order():
    with pytest.raises(KdedgeError, match="^--a must"):
        check_params({"a": Whole(0), "b": Whole(0)}, {"b": -1, "a": -1})


@pytest.mark.parametrize("constraint,fired,expected", [
    (WholeList(1), "1,32", [1, 32]),
    (WholeList(1), "[1, 32]", [1, 32]),
    (WholeList(1), (1, 32), [1, 32]),
    (WholeList(1), 8, [8]),
    (WholeList(1), [8], [8]),
    (Text(), 8, "8"),
    (Text(), 0.5, "0.5"),
    (Text(), "name", "name"),
    (TextList(), "int8, fp16", ["int8", "fp16"]),
    (TextList(), ("int8", "fp16"), ["int8", "fp16"]),
    (TextList(), 8, ["8"]),
    (Optional(WholeList(1)), None, None),
    (Optional(Text()), None, None),
    (Optional(Text()), 8, "8"),
    (AnyOf((Flag(), TextList())), True, True),
    (AnyOf((Flag(), TextList())), "int8,fp16", ["int8", "fp16"]),
    (Whole(1), 8, 8),
])
def test_from_cli_converts_what_fire_parsed(constraint, fired, expected):
    converted = from_cli({"flag": constraint}, {"flag": fired})["flag"]
    assert converted == expected and type(converted) is type(expected)


def test_from_cli_checks_after_converting_and_keeps_other_names():
    assert from_cli({"sizes": WholeList(1)}, {"sizes": "1,32", "other": (1, 2)}) == {
        "sizes": [1, 32], "other": (1, 2)}
    with pytest.raises(KdedgeError, match=r"--sizes must be whole numbers >= 1.*got '1,x'"):
        from_cli({"sizes": WholeList(1)}, {"sizes": "1,x"})
