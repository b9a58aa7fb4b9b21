"""The committed fixture set (``tests/fixtures/videos``) and the larger held-back benchmark set.

Regenerate the committed set with ``formcheck synth fixtures --out tests/fixtures/videos`` (same
bytes every time on the same software stack). The benchmark set is generated on demand into a cache
directory (``formcheck synth bench-set --out DIR``) and never committed.
"""

from __future__ import annotations

from formcheck.synth.exercises import EXERCISES, VARIANTS
from formcheck.synth.generate import ClipSpec

FIXTURE_SEED = 3

#: (exercise, variant, view): every exercise correct + at least one named faulty / deviating variant
FIXTURES: tuple[tuple[str, str, str], ...] = (
    ("ankle_pumps", "correct", "side"), ("ankle_pumps", "ballistic", "oblique"),
    ("heel_slides", "correct", "side"), ("heel_slides", "shallow", "oblique"),
    ("abdominal_contraction", "correct", "side"), ("abdominal_contraction", "short_hold", "oblique"),
    ("wall_squat", "correct", "side"), ("wall_squat", "too_deep", "side"),
    ("wall_squat", "trunk_flexion", "oblique"), ("wall_squat", "knee_valgus", "front"),
    ("wall_squat", "knees_past_toes", "side"), ("wall_squat", "short_hold", "oblique"),
    ("heel_raises", "correct", "side"), ("heel_raises", "short_hold", "front"),
    ("straight_leg_raise", "correct", "side"), ("straight_leg_raise", "knee_bent", "side"),
    ("straight_leg_raise", "lift_too_high", "oblique"), ("straight_leg_raise", "back_arch", "side"),
    ("single_knee_to_chest", "correct", "side"), ("single_knee_to_chest", "released_early", "oblique"),
    ("hamstring_stretch", "correct", "side"), ("hamstring_stretch", "released_early", "oblique"),
    ("hip_flexor_stretch", "correct", "side"), ("hip_flexor_stretch", "released_early", "oblique"),
    ("piriformis_stretch", "correct", "oblique"), ("piriformis_stretch", "released_early", "side"),
    ("glute_bridge", "correct", "side"), ("glute_bridge", "hips_too_high", "side"),
    ("glute_bridge", "hips_sagging", "oblique"),
    ("bird_dog", "correct", "side"), ("bird_dog", "trunk_rotation", "oblique"), ("bird_dog", "back_sag", "side"),
    ("plank", "correct", "side"), ("plank", "hips_sagging", "side"), ("plank", "hips_piked", "oblique"),
    ("dead_bug", "correct", "side"), ("dead_bug", "ballistic", "oblique"),
    ("pelvic_tilt", "correct", "side"), ("pelvic_tilt", "short_hold", "oblique"),
    ("prone_press_up", "correct", "side"), ("prone_press_up", "shallow", "oblique"),
    ("squat", "correct", "side"), ("squat", "trunk_flexion", "side"), ("squat", "ballistic", "oblique"),
)


def fixture_specs(seed: int = FIXTURE_SEED) -> list[ClipSpec]:
    return [ClipSpec(e, v, w, seed=seed) for e, v, w in FIXTURES]


BENCH_FPS = 8.0


def bench_specs(seed: int = 1000, views: tuple[str, ...] = ("side", "oblique", "front")) -> list[ClipSpec]:
    """Held-back benchmark set: every exercise, correct execution, each camera view, another body and
    room per clip (different seeds from the fixtures), 640x480 at 8 fps. Floor exercises are not filmed from
    the front (a laptop at the feet sees nothing useful); they get the other oblique instead."""
    out = []
    standing = {"wall_squat", "heel_raises", "squat"}
    for i, e in enumerate(EXERCISES):
        for view in views:
            w = view if (view != "front" or e in standing) else "oblique_back"
            out.append(ClipSpec(e, "correct", w, seed=seed + i, size=(640, 480), fps=BENCH_FPS))
    return out


def all_variants() -> dict[str, tuple[str, ...]]:
    return dict(VARIANTS)
