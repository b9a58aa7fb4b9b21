"""Program mode: the prescribed exercises of a level (or a therapist's program) in sequence, with rests.

The AAOS low-back program (see DEVELOPERS_BRIEF.md) in levels; a therapist's program (the storage
``Program`` / ``ProgramItem`` rows, or any list of dicts with the same fields) replaces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from formcheck.errors import FieldError, OptionsError

# Level -> exercise ids in the order of the reference program (specs of a level not listed here follow,
# by id; the level of an exercise is the ``level`` field of its spec).
LEVELS: dict[str, tuple[str, ...]] = {
    "beginning": ("ankle_pumps", "heel_slides", "abdominal_contraction", "wall_squat", "heel_raises",
                  "straight_leg_raise"),
    "intermediate": ("single_knee_to_chest", "hamstring_stretch"),
    "advanced": ("hip_flexor_stretch", "piriformis_stretch"),
    "core": ("pelvic_tilt", "glute_bridge", "bird_dog", "dead_bug", "plank", "prone_press_up"),
}


@dataclass(frozen=True)
class ProgramStep:
    """One exercise of a program: the spec id, overrides of its prescription, the side, rest after it."""

    exercise: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    side: str | None = None
    sets: int = 1
    rest_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.exercise or not isinstance(self.exercise, str):
            raise OptionsError("exercise", "an exercise id", self.exercise)
        if self.side not in (None, "left", "right"):
            raise OptionsError("side", "'left', 'right' or none", self.side)
        if not (isinstance(self.sets, int) and self.sets >= 1):
            raise OptionsError("sets", "an integer >= 1", self.sets)
        if not self.rest_s >= 0:
            raise OptionsError("rest_s", "seconds >= 0", self.rest_s)


@dataclass(frozen=True)
class Program:
    steps: tuple[ProgramStep, ...]
    name: str = "program"

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        if not self.steps:
            raise OptionsError("steps", "at least one exercise", 0)

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def single(cls, exercise: str, overrides: Mapping[str, Any] | None = None, side: str | None = None
               ) -> Program:
        return cls((ProgramStep(exercise, dict(overrides or {}), side, rest_s=0.0),), name=exercise)

    @classmethod
    def level(cls, level: str, rest_s: float = 30.0) -> Program:
        """The reference program's exercises for ``level`` (beginning, intermediate, advanced, core)."""
        from formcheck.exercises import list_specs

        if level not in LEVELS:
            raise FieldError("level", " | ".join(LEVELS), level)
        order = {e: i for i, e in enumerate(LEVELS[level])}
        ids = sorted((s.id for s in list_specs() if s.level == level), key=lambda e: (order.get(e, 99), e))
        if not ids:
            raise FieldError("level", f"a level with exercise specs in {level!r}", level)
        return cls(tuple(ProgramStep(e, rest_s=rest_s) for e in ids), name=f"level:{level}")

    @classmethod
    def from_items(cls, items: Iterable[Any], name: str = "therapist program", rest_s: float = 30.0
                   ) -> Program:
        """A therapist's program from ``ProgramItem`` rows or dicts (exercise_id, sets, reps, hold_s, side,
        overrides); reps and hold_s become overrides of the spec's prescription."""
        steps = []
        for it in items:
            get = it.get if isinstance(it, Mapping) else (lambda k, d=None, _it=it: getattr(_it, k, d))
            overrides = dict(get("overrides", None) or {})
            if get("reps", None) is not None:
                overrides.setdefault("reps", get("reps"))
            if get("hold_s", None) is not None:
                overrides.setdefault("hold_s", get("hold_s"))
            steps.append(ProgramStep(get("exercise_id", None) or get("exercise", None), overrides,
                                     get("side", None), int(get("sets", 1) or 1), rest_s))
        return cls(tuple(steps), name=name)
