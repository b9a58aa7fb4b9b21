"""Conditions: a closed set of comparisons of named measures against numbers (never ``eval``).

A condition in a spec is a small mapping, one of::

    {measure: knee_flexion_{side}, gt: 25}          # also lt, ge, le, between: [a, b], outside: [a, b],
    {rate: knee_flexion_{side}, abs_gt: 250}        # rate = time derivative (units/s), smoothed
    {change: trunk_to_horizontal, gt: 5}             # change since the start of the rep (its value at
                                                     # rest just before the rep; 0 between reps)
    {all: [<condition>, ...]}                        # and
    {any: [<condition>, ...]}                        # or
    {not: <condition>}

Evaluation is three-valued: a comparison on a hidden measure (NaN) is *unknown* (``None``), and
``all``/``any``/``not`` follow Kleene logic (``all`` is False as soon as one part is False, even if
another is unknown). The tracker never changes state on an unknown value: a few frames of lost
tracking neither count nor break anything.

``{side}`` and ``{other}`` in a measure name are replaced by the side being exercised and the
opposite one (``knee_flexion_{side}`` -> ``knee_flexion_left``); in a spec whose sides are ``both``,
``{side}`` becomes the bare name (the more visible side, see :mod:`formcheck.measures`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

_OPS = ("gt", "ge", "lt", "le", "between", "outside", "abs_gt", "abs_lt")
Tri = Optional[bool]  # noqa: UP045 - a runtime alias (X | None is not subscript-safe here)


class Condition(BaseModel):
    """One node of a condition tree (exactly one of measure / rate / all / any / not)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    measure: str | None = Field(None, description="Measure name (may contain {side} / {other}).")
    rate: str | None = Field(None, description="Compare the time derivative of this measure (units per second).")
    change: str | None = Field(None, description="Compare the change of this measure since the start of the rep "
                                                 "(its value at rest just before the rep started).")
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    between: tuple[float, float] | None = Field(None, description="Inclusive range [low, high].")
    outside: tuple[float, float] | None = Field(None, description="Strictly outside [low, high].")
    abs_gt: float | None = Field(None, description="Absolute value greater than.")
    abs_lt: float | None = Field(None, description="Absolute value less than.")
    all_: list[Condition] | None = Field(None, alias="all", description="All of these hold.")
    any_: list[Condition] | None = Field(None, alias="any", description="At least one of these holds.")
    not_: Condition | None = Field(None, alias="not", description="This does not hold.")

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        kinds = [k for k in ("measure", "rate", "change", "all_", "any_", "not_") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("exactly one of measure, rate, change, all, any, not "
                             f"(got {[k.rstrip('_') for k in kinds] or 'none'})")
        ops = [op for op in _OPS if getattr(self, op) is not None]
        if kinds[0] in ("measure", "rate", "change"):
            if len(ops) != 1:
                raise ValueError(f"exactly one comparison of {list(_OPS)} (got {ops or 'none'})")
            for op in ("between", "outside"):
                rng = getattr(self, op)
                if rng is not None and not rng[0] <= rng[1]:
                    raise ValueError(f"{op}: low <= high (got {list(rng)})")
        elif ops:
            raise ValueError(f"a comparison ({ops}) only goes with measure, rate or change")
        if kinds[0] in ("all_", "any_") and not getattr(self, kinds[0]):
            raise ValueError(f"{kinds[0].rstrip('_')}: at least one condition")
        return self

    # -- introspection ----------------------------------------------------------------------
    def measures(self) -> set[str]:
        """Measure names this condition reads (templates, unresolved)."""
        if self.measure is not None:
            return {self.measure}
        if self.rate is not None:
            return {self.rate}
        if self.change is not None:
            return {self.change}
        out: set[str] = set()
        for c in (self.all_ or []) + (self.any_ or []) + ([self.not_] if self.not_ else []):
            out |= c.measures()
        return out

    def changes(self) -> set[str]:
        """Measure names whose change since the rep start this condition reads (templates)."""
        if self.change is not None:
            return {self.change}
        out: set[str] = set()
        for c in (self.all_ or []) + (self.any_ or []) + ([self.not_] if self.not_ else []):
            out |= c.changes()
        return out

    def rates(self) -> set[str]:
        """Measure names whose rate this condition reads (templates)."""
        if self.rate is not None:
            return {self.rate}
        out: set[str] = set()
        for c in (self.all_ or []) + (self.any_ or []) + ([self.not_] if self.not_ else []):
            out |= c.rates()
        return out

    def op(self) -> tuple[str, object]:
        for op in _OPS:
            v = getattr(self, op)
            if v is not None:
                return op, v
        raise AssertionError("not a comparison")


def resolve(name: str, side: str | None) -> str:
    """Substitute ``{side}``/``{other}`` (``side=None``: the bare, more-visible-side name)."""
    if "{" not in name:
        return name
    if side is None:
        return name.replace("_{side}", "").replace("{side}", "").replace("_{other}", "")
    other = "right" if side == "left" else "left"
    return name.replace("{side}", side).replace("{other}", other)


def _compare(op: str, arg: object, v: float) -> Tri:
    if v is None or not math.isfinite(v):
        return None
    if op == "gt":
        return v > arg
    if op == "ge":
        return v >= arg
    if op == "lt":
        return v < arg
    if op == "le":
        return v <= arg
    if op == "between":
        lo, hi = arg  # type: ignore[misc]
        return lo <= v <= hi
    if op == "outside":
        lo, hi = arg  # type: ignore[misc]
        return v < lo or v > hi
    if op == "abs_gt":
        return abs(v) > arg
    if op == "abs_lt":
        return abs(v) < arg
    raise AssertionError(op)


Compiled = Callable[[Mapping[str, float], Mapping[str, float]], Tri]
CHANGE_PREFIX = "change:"  # key of a change value in the derived mapping (next to the rates)


def compile_condition(cond: Condition, side: str | None) -> Compiled:
    """Turn a condition into a function ``f(values, derived) -> True/False/None`` for one side;
    ``derived`` maps measure names to their rates and ``change:<name>`` to their change since the rep
    start."""
    if cond.measure is not None or cond.rate is not None or cond.change is not None:
        op, arg = cond.op()
        if cond.measure is not None:
            name = resolve(cond.measure, side)
            return lambda values, rates: _compare(op, arg, values.get(name, math.nan))
        if cond.change is not None:
            key = CHANGE_PREFIX + resolve(cond.change, side)
            return lambda values, rates: _compare(op, arg, rates.get(key, math.nan))
        name = resolve(cond.rate, side)  # type: ignore[arg-type]
        return lambda values, rates: _compare(op, arg, rates.get(name, math.nan))
    if cond.not_ is not None:
        inner = compile_condition(cond.not_, side)

        def _not(values, rates):
            r = inner(values, rates)
            return None if r is None else not r
        return _not
    parts = [compile_condition(c, side) for c in (cond.all_ or cond.any_ or [])]
    if cond.all_ is not None:
        def _all(values, rates):
            unknown = False
            for p in parts:
                r = p(values, rates)
                if r is False:
                    return False
                unknown |= r is None
            return None if unknown else True
        return _all

    def _any(values, rates):
        unknown = False
        for p in parts:
            r = p(values, rates)
            if r is True:
                return True
            unknown |= r is None
        return None if unknown else False
    return _any
