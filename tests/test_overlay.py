"""The coaching overlay: what the patient/therapist sees drawn on the frame."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.errors import OptionsError
from formcheck.keypoints import PoseFrame
from formcheck.landmarks import Landmark as L
from formcheck.overlay import FaultBanner, OverlayState, draw_overlay, joint_for_measure

W, H = 1280, 720
GREEN = np.array([80, 200, 60])
AMBER = np.array([0, 170, 255])
RED = np.array([40, 40, 220])

POSE = {
    L.NOSE: (640, 120), L.LEFT_SHOULDER: (600, 200), L.RIGHT_SHOULDER: (680, 200), L.LEFT_ELBOW: (580, 300),
    L.RIGHT_ELBOW: (700, 300), L.LEFT_WRIST: (570, 390), L.RIGHT_WRIST: (710, 390), L.LEFT_HIP: (610, 400),
    L.RIGHT_HIP: (670, 400), L.LEFT_KNEE: (540, 500), L.RIGHT_KNEE: (740, 500), L.LEFT_ANKLE: (600, 640),
    L.RIGHT_ANKLE: (680, 640),
}


def make_frame(hidden: tuple[L, ...] = (), size: tuple[int, int] = (W, H)) -> PoseFrame:
    xyz = np.full((33, 3), np.nan, np.float32)
    for k, (x, y) in POSE.items():
        xyz[k] = (x, y, 0.0)
    vis = np.where(np.isfinite(xyz[:, 0]), 0.95, np.nan).astype(np.float32)
    for k in hidden:
        vis[k] = 0.1
    return PoseFrame(xyz, np.zeros((33, 3)), vis, vis, 2.0, size)


def blank(w: int = W, h: int = H) -> np.ndarray:
    return np.full((h, w, 3), 100, np.uint8)


def changed(a: np.ndarray, b: np.ndarray, x: int, y: int, r: int = 3) -> bool:
    return bool(np.any(a[y - r:y + r + 1, x - r:x + r + 1] != b[y - r:y + r + 1, x - r:x + r + 1]))


def colour_pixels(img: np.ndarray, colour: np.ndarray, region: tuple[slice, slice], tol: int = 12) -> int:
    patch = img[region].astype(int)
    return int(np.sum(np.all(np.abs(patch - colour) <= tol, axis=-1)))


def test_skeleton_drawn_on_copy_at_the_landmarks():
    img = blank()
    out = draw_overlay(img, make_frame(), OverlayState())
    assert np.all(img == 100), "the input image must not be modified"
    assert out.shape == img.shape and out.dtype == np.uint8
    mid_thigh = ((610 + 540) // 2, (400 + 500) // 2)
    assert changed(out, img, *mid_thigh)
    assert not changed(out, img, 1000, 600, r=10), "nothing drawn far away from the person"


def test_inplace_draws_into_the_given_image():
    img = blank()
    out = draw_overlay(img, make_frame(), OverlayState(), inplace=True)
    assert out is img or np.shares_memory(out, img)
    assert changed(img, blank(), 540, 500)


def test_hidden_landmarks_are_not_drawn():
    img = blank()
    out = draw_overlay(img, make_frame(hidden=(L.LEFT_KNEE,)), OverlayState())
    # the left thigh and shank end at the hidden knee: their midpoints stay blank
    assert not changed(out, img, (610 + 540) // 2, (400 + 500) // 2, r=2)
    assert not changed(out, img, (540 + 600) // 2, (500 + 640) // 2, r=2)
    assert changed(out, img, (670 + 740) // 2, (400 + 500) // 2)  # right thigh still there


def test_landmarks_are_scaled_to_a_smaller_image():
    small = blank(640, 360)
    out = draw_overlay(small, make_frame(), OverlayState())
    assert changed(out, small, (610 + 540) // 4, (400 + 500) // 4, r=2)


def test_no_person_shows_a_status_line_and_no_skeleton():
    img = blank()
    empty = PoseFrame.empty(1.0, (W, H))
    out = draw_overlay(img, empty, OverlayState())
    assert not changed(out, img, 575, 450, r=40)
    assert np.any(out[H - 80:, :] != 100), "a 'no person' line at the bottom"


def _gauge_state(value: float) -> OverlayState:
    return OverlayState(measure_name="knee_flexion_left", measure_value=value, target_min=40, target_max=50,
                        gauge_max=120)


def test_key_angle_colour_follows_the_target_band():
    gauge = (slice(0, H), slice(W - 200, W))
    inside = draw_overlay(blank(), make_frame(), _gauge_state(45))
    outside = draw_overlay(blank(), make_frame(), _gauge_state(80))
    # the joint arc is green inside the band, amber outside
    knee = (slice(460, 540), slice(500, 640))
    assert colour_pixels(inside, GREEN, knee) > 30 and colour_pixels(inside, AMBER, knee) < 5
    assert colour_pixels(outside, AMBER, knee) > 30
    # the gauge shows the band (green) either way
    assert colour_pixels(outside, GREEN, gauge) > 100
    assert _gauge_state(45).in_band is True and _gauge_state(80).in_band is False
    assert OverlayState(measure_value=10).in_band is None


def test_gauge_shown_for_a_non_joint_measure_without_landmarks():
    out = draw_overlay(blank(), None, OverlayState(measure_name="body_line", measure_value=3.0, target_min=-10,
                                                  target_max=10, gauge_min=-30, gauge_max=30, unit="deg"))
    assert colour_pixels(out, GREEN, (slice(0, H), slice(W - 200, W))) > 100
    assert joint_for_measure("body_line") is None


def test_fault_banner_colour_by_severity():
    top = (slice(0, 120), slice(300, 980))
    none = draw_overlay(blank(), make_frame(), OverlayState())
    harmful = draw_overlay(blank(), make_frame(), OverlayState(faults=(FaultBanner("Too deep", "harmful"),)))
    warning = draw_overlay(blank(), make_frame(), OverlayState(faults=[FaultBanner("Knees past toes")]))
    red_like = np.array([40, 40, 220]) * 0.85 + 100 * 0.15
    amber_like = AMBER * 0.85 + 100 * 0.15
    assert colour_pixels(none, red_like, top) == 0
    assert colour_pixels(harmful, red_like, top) > 500
    assert colour_pixels(warning, amber_like, top) > 500 and colour_pixels(warning, red_like, top) == 0
    with pytest.raises(OptionsError):
        FaultBanner("x", "fatal")  # type: ignore[arg-type]


def test_rep_counter_and_hold_countdown_progress():
    panel = (slice(0, 200), slice(0, 300))
    st = dict(rep_count=4, reps_target=10, hold_target_s=5.0)
    early = draw_overlay(blank(), None, OverlayState(hold_elapsed_s=1.0, **st))
    late = draw_overlay(blank(), None, OverlayState(hold_elapsed_s=4.0, **st))
    assert colour_pixels(late, GREEN, panel) > colour_pixels(early, GREEN, panel) + 50
    no_counter = draw_overlay(blank(), None, OverlayState())
    assert np.all(no_counter[panel] == 100)
    # different rep counts draw differently
    other = draw_overlay(blank(), None, OverlayState(hold_elapsed_s=1.0, **{**st, "rep_count": 5}))
    assert np.any(other[panel] != early[panel])


def test_pure_function_same_inputs_same_picture():
    st = OverlayState(title="Wall squat", measure_name="knee_flexion_left", measure_value=47, target_min=40,
                      target_max=50, rep_count=2, reps_target=10, cue="Breathe out", time_s=12.3,
                      faults=(FaultBanner("Keep your back against the wall", "harmful"),))
    a = draw_overlay(blank(), make_frame(), st)
    draw_overlay(blank(), make_frame(), OverlayState(rep_count=9))  # another call in between
    b = draw_overlay(blank(), make_frame(), st)
    assert np.array_equal(a, b)


def test_joint_for_measure_sides():
    assert joint_for_measure("knee_flexion_right") == (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)
    assert joint_for_measure("hip_flexion_left") == (L.LEFT_SHOULDER, L.LEFT_HIP, L.LEFT_KNEE)
    frame = make_frame(hidden=(L.LEFT_KNEE,))
    assert joint_for_measure("knee_flexion", frame)[1] == L.RIGHT_KNEE


def test_bad_inputs_are_named_errors():
    with pytest.raises(OptionsError, match="image_bgr"):
        draw_overlay(np.zeros((10, 10), np.uint8), None, OverlayState())
    with pytest.raises(OptionsError, match="gauge_max"):
        OverlayState(gauge_min=10, gauge_max=10)
