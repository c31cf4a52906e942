"""Parameter constraints, declared once per stage and checked once at its public boundary.

As scikit-learn's `_parameter_constraints`: a stage module declares `PARAMETERS = {name:
constraint}`, its public function calls `check_params(PARAMETERS, locals())` before any work, and
the CLI calls `from_cli` on each value fire parsed (fire turns `1,32` into a tuple, `8` into an
int), so a flag's type rules live in one place. Errors name the flag and the valid values.
Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kdedge.errors import KdedgeError


class Constraint:
    """What values one parameter accepts."""

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def from_cli(self, value: Any) -> Any:
        """The value as the stage expects it, from what fire parsed on the command line."""
        return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Whole(Constraint):
    """A whole number in [low, high] (either end open when None)."""

    low: int | None = None
    high: int | None = None

    def accepts(self, value: Any) -> bool:
        return (isinstance(value, int) and not isinstance(value, bool)
                and (self.low is None or value >= self.low)
                and (self.high is None or value <= self.high))

    def describe(self) -> str:
        if self.high is None:
            return f"a whole number >= {self.low}" if self.low is not None else "a whole number"
        if self.low is None:
            return f"a whole number <= {self.high}"
        return f"a whole number in [{self.low}, {self.high}]"


@dataclass(frozen=True)
class Real(Constraint):
    """A finite number in an interval; `closed` says which ends are included ("both", "left", …)."""

    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        if not _is_number(value):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        above = self.low is None or (value >= self.low if left else value > self.low)
        below = self.high is None or (value <= self.high if right else value < self.high)
        return above and below

    def describe(self) -> str:
        if self.low is None and self.high is None:
            return "a finite number"
        if self.high is None:
            return f"a number {'>=' if self.closed in ('both', 'left') else '>'} {self.low}"
        if self.low is None:
            return f"a number {'<=' if self.closed in ('both', 'right') else '<'} {self.high}"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"a number in {left}{self.low}, {self.high}{right}"


@dataclass(frozen=True)
class OneOf(Constraint):
    """One of a fixed set of names (a registry users pick from)."""

    options: tuple

    def accepts(self, value: Any) -> bool:
        return value in self.options

    def describe(self) -> str:
        return "one of " + ", ".join(str(o) for o in self.options)


@dataclass(frozen=True)
class Text(Constraint):
    """A non-empty string (a path, a column name, a target name)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value != ""

    def describe(self) -> str:
        return "a non-empty text"

    def from_cli(self, value: Any) -> Any:
        # fire turns `--target 8` into the int 8: a column or file name is text.
        return str(value) if _is_number(value) else value


@dataclass(frozen=True)
class Flag(Constraint):
    """True or False."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class WholeList(Constraint):
    """A non-empty list of whole numbers >= `low` (`--batch_sizes 1,32,1024`)."""

    low: int = 1

    def accepts(self, value: Any) -> bool:
        return (isinstance(value, list) and len(value) > 0
                and all(Whole(self.low).accepts(v) for v in value))

    def describe(self) -> str:
        return f"whole numbers >= {self.low}, comma-separated (e.g. 1,32)"

    def from_cli(self, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.strip("[]()").split(",") if p.strip()]
            try:
                return [int(p) for p in parts]
            except ValueError:
                return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return [value]
        return list(value) if isinstance(value, (list, tuple)) else value


@dataclass(frozen=True)
class TextList(Constraint):
    """A list of non-empty strings; the CLI accepts `a,b`, a repeated flag or a single name."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list) and all(Text().accepts(v) for v in value)

    def describe(self) -> str:
        return "names, comma-separated"

    def from_cli(self, value: Any) -> Any:
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        if _is_number(value):  # fire reads `--models 8` as the int 8
            return [str(value)]
        if isinstance(value, Iterable):
            return [str(v) for v in value]
        return value


@dataclass(frozen=True)
class Optional(Constraint):
    """None, or what `inner` accepts."""

    inner: Constraint

    def accepts(self, value: Any) -> bool:
        return value is None or self.inner.accepts(value)

    def describe(self) -> str:
        return f"{self.inner.describe()} (or omitted)"

    def from_cli(self, value: Any) -> Any:
        return None if value is None else self.inner.from_cli(value)


@dataclass(frozen=True)
class AnyOf(Constraint):
    """What any of `options` accepts (e.g. `--quantize` alone, or a list of variant names)."""

    options: tuple

    def accepts(self, value: Any) -> bool:
        return any(o.accepts(value) for o in self.options)

    def describe(self) -> str:
        return " or ".join(o.describe() for o in self.options)

    def from_cli(self, value: Any) -> Any:
        for option in self.options:
            converted = option.from_cli(value)
            if option.accepts(converted):
                return converted
        return value


def check_params(constraints: dict[str, Constraint], values: dict[str, Any]) -> None:
    """Raise KdedgeError for the first value its constraint refuses, naming the flag.

    Args:
        constraints: the stage's PARAMETERS.
        values: the call's arguments (e.g. `locals()` at the top of the stage function); names
            without a constraint are ignored.
    """
    for name, constraint in constraints.items():
        if name in values and not constraint.accepts(values[name]):
            raise KdedgeError(f"--{name} must be {constraint.describe()}, got {values[name]!r}")


def from_cli(constraints: dict[str, Constraint], values: dict[str, Any]) -> dict[str, Any]:
    """Values as fire parsed them → values as the stage expects them (then checked)."""
    converted = {name: constraints[name].from_cli(value) if name in constraints else value
                 for name, value in values.items()}
    check_params(constraints, converted)
    return converted
