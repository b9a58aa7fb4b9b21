"""Measures: known geometry gives known angles; hidden joints give NaN; sides, spaces, velocity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formcheck.errors import FieldError
from formcheck.keypoints import PoseSequence
from formcheck.landmarks import Landmark as L
from formcheck.measures import (
    MEASURES,
    angular_velocity,
    compute_measures,
    estimate_view,
    frame_measures,
    joint_angle,
)


def make_seq(frames: list[dict[L, tuple[float, float]]], vis: dict[L, float] | None = None,
             world_scale: float = 0.01, fps: float = 10.0) -> PoseSequence:
    """A sequence where only the named landmarks exist (others hidden); world = image * scale."""
    T = len(frames)
    xyz = np.full((T, 33, 3), np.nan, np.float32)
    v = np.zeros((T, 33), np.float32)
    for i, fr in enumerate(frames):
        for lm, (x, y) in fr.items():
            xyz[i, lm] = (x, y, 0.0)
            v[i, lm] = (vis or {}).get(lm, 0.99)
    world = xyz * world_scale
    return PoseSequence(xyz, world, v, v.copy(), np.arange(T) / fps, (640, 480), fps)


def leg(side: str, hip, knee, ankle) -> dict[L, tuple[float, float]]:
    s = side.upper()
    return {L[f"{s}_HIP"]: hip, L[f"{s}_KNEE"]: knee, L[f"{s}_ANKLE"]: ankle}


def test_joint_angle_is_exact_near_0_and_180() -> None:
    a = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    b = np.zeros((3, 2))
    c = np.array([[-1.0, 1e-7], [0.0, 1.0], [1.0, 1e-7]])
    np.testing.assert_allclose(joint_angle(a, b, c), [180.0, 90.0, 0.0], atol=1e-4)


@pytest.mark.parametrize("deg", [0.0, 30.0, 45.0, 90.0, 120.0])
def test_knee_flexion_matches_constructed_angle(deg: float) -> None:
    # thigh straight down from the hip; shank rotated by `deg` away from the thigh's line
    hip, knee = (300.0, 100.0), (300.0, 200.0)
    r = math.radians(deg)
    ankle = (300.0 + 100 * math.sin(r), 200.0 + 100 * math.cos(r))
    seq = make_seq([leg("left", hip, knee, ankle)])
    for space in ("image", "world"):
        m = compute_measures(seq, ["knee_flexion_left"], space=space)
        assert m["knee_flexion_left"][0] == pytest.approx(deg, abs=1e-3)


def test_hidden_joint_gives_nan_never_a_made_up_angle() -> None:
    fr = leg("left", (300, 100), (300, 200), (350, 290))
    seq = make_seq([fr, fr], vis={L.LEFT_ANKLE: 0.3})
    m = compute_measures(seq, ["knee_flexion_left", "knee_flexion_right", "knee_flexion"])
    assert np.isnan(m["knee_flexion_left"]).all()
    assert np.isnan(m["knee_flexion_right"]).all()  # right leg absent altogether
    assert np.isnan(m["knee_flexion"]).all()
    # with a lower threshold the same joint is measured
    m2 = compute_measures(seq, ["knee_flexion_left"], visibility=0.2)
    assert np.isfinite(m2["knee_flexion_left"]).all()


def test_bare_name_takes_the_more_visible_side() -> None:
    fr = {**leg("left", (300, 100), (300, 200), (300, 300)),  # straight, 0 deg
          **leg("right", (320, 100), (320, 200), (420, 200))}  # 90 deg
    seq_l = make_seq([fr], vis={L.RIGHT_KNEE: 0.6})
    seq_r = make_seq([fr], vis={L.LEFT_KNEE: 0.6})
    assert compute_measures(seq_l, ["knee_flexion"])["knee_flexion"][0] == pytest.approx(0.0, abs=1e-3)
    assert compute_measures(seq_r, ["knee_flexion"])["knee_flexion"][0] == pytest.approx(90.0, abs=1e-3)


def test_trunk_inclination_and_horizontal() -> None:
    upright = {L.LEFT_SHOULDER: (300, 100), L.LEFT_HIP: (300, 250)}
    lying = {L.LEFT_SHOULDER: (150, 300), L.LEFT_HIP: (300, 300)}
    raised = {L.LEFT_SHOULDER: (150, 213.4), L.LEFT_HIP: (300, 300)}  # 30 deg above horizontal
    m = compute_measures(make_seq([upright, lying, raised]), ["trunk_inclination", "trunk_to_horizontal"],
                         space="image")
    np.testing.assert_allclose(m["trunk_inclination"], [0.0, 90.0, 60.0], atol=0.05)
    np.testing.assert_allclose(m["trunk_to_horizontal"], [90.0, 0.0, 30.0], atol=0.05)


def _plank(hip_y: float) -> dict[L, tuple[float, float]]:
    return {L.LEFT_SHOULDER: (100, 200), L.LEFT_HIP: (300, hip_y), L.LEFT_KNEE: (400, 200),
            L.LEFT_ANKLE: (500, 200)}


def test_body_line_sign_sag_positive_pike_negative() -> None:
    m = compute_measures(make_seq([_plank(200), _plank(240), _plank(160)]), ["body_line"], space="image")
    v = m["body_line"]
    assert v[0] == pytest.approx(0.0, abs=1e-3)
    assert v[1] > 10  # hips below the shoulder-ankle line (y down): sag
    assert v[2] < -10  # hips above: piked


def test_bridge_line_sign_hips_above_is_positive() -> None:
    def fr(hip_y: float) -> dict[L, tuple[float, float]]:
        return {L.LEFT_SHOULDER: (100, 300), L.LEFT_HIP: (250, hip_y), L.LEFT_KNEE: (400, 200)}

    v = compute_measures(make_seq([fr(300), fr(250), fr(200)]), ["bridge_line"], space="image")["bridge_line"]
    assert v[0] < -20  # hips on the floor, well below the shoulder-knee line
    assert v[1] == pytest.approx(0.0, abs=1e-3)  # straight line
    assert v[2] > 15  # hips pushed above the line (hyperextension)


def test_heel_height_in_leg_lengths_above_the_floor() -> None:
    base = {**leg("left", (300, 100), (300, 300), (300, 500)), L.LEFT_FOOT_INDEX: (360, 520)}
    flat = {**base, L.LEFT_HEEL: (290, 520)}
    raised = {**base, L.LEFT_HEEL: (290, 480)}  # 40 px above the toes; leg = 400 px
    m = compute_measures(make_seq([flat, raised]), ["heel_height_left", "heel_height_cm_left"], space="image")
    np.testing.assert_allclose(m["heel_height_left"], [0.0, 0.1], atol=1e-4)
    # world leg length here is 4 m (scale 0.01 of 400 px): 0.1 leg lengths = 40 cm
    assert m["heel_height_cm_left"][1] == pytest.approx(40.0, rel=1e-3)


def test_ankle_dorsiflexion_neutral_zero_and_sign() -> None:
    shank = {L.LEFT_KNEE: (300, 300), L.LEFT_ANKLE: (300, 500)}
    neutral = {**shank, L.LEFT_HEEL: (290, 510), L.LEFT_FOOT_INDEX: (390, 510)}
    pointed = {**shank, L.LEFT_HEEL: (290, 510), L.LEFT_FOOT_INDEX: (380, 560)}
    m = compute_measures(make_seq([neutral, pointed]), ["ankle_dorsiflexion_left"], space="image")
    assert m["ankle_dorsiflexion_left"][0] == pytest.approx(0.0, abs=1e-3)
    assert m["ankle_dorsiflexion_left"][1] < -20  # toes pointed away = plantarflexion


def test_knee_valgus_positive_when_knee_falls_inside() -> None:
    # front view: left leg on the image right (patient's left), right hip at smaller x
    def fr(knee_x: float) -> dict[L, tuple[float, float]]:
        return {L.LEFT_HIP: (360, 200), L.RIGHT_HIP: (280, 200), L.LEFT_KNEE: (knee_x, 300),
                L.LEFT_ANKLE: (360, 400)}

    v = compute_measures(make_seq([fr(360), fr(340), fr(380)]), ["knee_valgus_left"])["knee_valgus_left"]
    assert v[0] == pytest.approx(0.0, abs=1e-3)
    assert v[1] > 10  # toward the other hip: valgus
    assert v[2] < -10  # away: varus


def test_velocity_of_a_ramp_is_its_slope_and_nan_next_to_gaps() -> None:
    t = np.arange(6) / 10.0
    vals = np.array([0.0, 10.0, 20.0, np.nan, 40.0, 50.0])
    v = angular_velocity(vals, t)
    assert v[0] == pytest.approx(100.0) and v[1] == pytest.approx(100.0)
    assert np.isnan(v[3])
    assert v[5] == pytest.approx(100.0)


def test_velocity_measure_name_through_compute_measures() -> None:
    frames = []
    for deg in (0, 10, 20, 30):
        r = math.radians(deg)
        frames.append(leg("left", (300, 100), (300, 200), (300 + 100 * math.sin(r), 200 + 100 * math.cos(r))))
    m = compute_measures(make_seq(frames, fps=10.0), ["knee_flexion_left_velocity"])
    np.testing.assert_allclose(m["knee_flexion_left_velocity"], 100.0, atol=0.1)


def test_frame_measures_equal_the_sequence_row() -> None:
    rng = np.random.default_rng(0)
    xyz = rng.uniform(0, 500, (4, 33, 3)).astype(np.float32)
    vis = rng.uniform(0.3, 1.0, (4, 33)).astype(np.float32)
    seq = PoseSequence(xyz, xyz / 300, vis, vis, np.arange(4) / 30, (640, 480))
    whole = compute_measures(seq, space="image")
    one = frame_measures(seq.frame(2), space="image")
    assert set(one) == set(MEASURES)
    for k, v in one.items():
        assert (np.isnan(v) and np.isnan(whole[k][2])) or v == pytest.approx(float(whole[k][2]), abs=1e-4), k


def test_person_absent_frames_are_nan() -> None:
    seq = PoseSequence.empty(3, (640, 480))
    m = compute_measures(seq)
    assert all(np.isnan(v).all() for v in m.values())


def test_unknown_measure_or_space_is_a_clear_error() -> None:
    seq = PoseSequence.empty(1, (640, 480))
    with pytest.raises(FieldError, match="knee_flex"):
        compute_measures(seq, ["knee_flex"])
    with pytest.raises(FieldError, match="space"):
        compute_measures(seq, ["knee_flexion"], space="camera")  # type: ignore[arg-type]


def test_view_estimate_from_shoulder_width() -> None:
    side = {L.LEFT_SHOULDER: (300, 100), L.RIGHT_SHOULDER: (305, 100), L.LEFT_HIP: (300, 250),
            L.RIGHT_HIP: (305, 250)}
    front = {L.LEFT_SHOULDER: (360, 100), L.RIGHT_SHOULDER: (240, 100), L.LEFT_HIP: (340, 260),
             L.RIGHT_HIP: (260, 260)}
    assert estimate_view(make_seq([side] * 3)) == "side"
    assert estimate_view(make_seq([front] * 3)) == "front"
    assert estimate_view(PoseSequence.empty(2, (640, 480))) == "unknown"


def test_batched_kernel_matches_the_simple_formula_and_propagates_nan() -> None:
    from formcheck.measures import joint_angles, to_components

    rng = np.random.default_rng(1)
    pts = rng.normal(size=(50_001, 33, 3)).astype(np.float32)
    pts[7, 25] = np.nan
    trip = [(23, 25, 27), (11, 13, 15)]
    for dims in (2, 3):
        got = joint_angles(to_components(pts[..., :dims]), trip, chunk=4096)
        for row, (a, b, c) in enumerate(trip):
            ref = joint_angle(pts[:, a, :dims], pts[:, b, :dims], pts[:, c, :dims])
            np.testing.assert_allclose(got[row], ref, atol=2e-3, equal_nan=True)
        assert np.isnan(got[0, 7]) and np.isfinite(got[1, 7])
