"""The exercise ids the storage layer accepts, read lazily from the exercise specs."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

# Contract 3: one spec each. Used only when neither formcheck.exercises nor exercises/specs is present.
CONTRACT_EXERCISES: tuple[str, ...] = (
    "ankle_pumps", "heel_slides", "abdominal_contraction", "wall_squat", "heel_raises", "straight_leg_raise",
    "single_knee_to_chest", "hamstring_stretch", "hip_flexor_stretch", "piriformis_stretch", "glute_bridge",
    "bird_dog", "plank", "dead_bug", "pelvic_tilt", "prone_press_up", "squat",
)

_SPECS_DIR = Path(__file__).resolve().parents[3] / "exercises" / "specs"


@lru_cache(maxsize=1)
def exercise_ids() -> tuple[str, ...]:
    """Known exercise ids: those of ``formcheck.exercises.list_specs()`` (or the spec files) plus the
    contract-3 ids every release ships a spec for."""
    try:
        from formcheck.exercises import list_specs  # type: ignore[attr-defined]
    except ImportError:
        list_specs = None
    if list_specs is not None:
        try:
            ids = [getattr(s, "id", s) for s in list_specs()]
            ids = [str(i) for i in ids if i]
            if ids:
                return tuple(sorted(set(ids) | set(CONTRACT_EXERCISES)))
        except Exception:  # a broken spec must not take the dashboard down; fall back and say so
            log.exception("formcheck.exercises.list_specs() failed; using the spec files")
    if _SPECS_DIR.is_dir():
        ids = [p.stem for p in _SPECS_DIR.glob("*.yaml")]
        if ids:
            return tuple(sorted(set(ids) | set(CONTRACT_EXERCISES)))
    return tuple(sorted(CONTRACT_EXERCISES))


def exercise_label(exercise_id: str) -> str:
    return exercise_id.replace("_", " ").capitalize()
