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


def test_bent_knee_and_higher_heel_do_not_jump_when_the_legs_are_mislabelled() -> None:
    # Lying, the left knee bent 90 deg, the right leg straight; in frame 1 BlazePose calls the legs the
    # other way round (it does so on part of the frames of a lying body seen obliquely), in frame 2 the
    # right leg is hidden and in frame 3 both are.
    bent = {"hip": (300, 300), "knee": (400, 200), "ankle": (500, 300)}
    straight = {"hip": (300, 310), "knee": (450, 310), "ankle": (600, 310)}
    heels = {L.LEFT_HEEL: (505, 290), L.RIGHT_HEEL: (605, 320), L.LEFT_FOOT_INDEX: (515, 300),
             L.RIGHT_FOOT_INDEX: (615, 300)}
    labelled = {**leg("left", **bent), **leg("right", **straight), **heels}
    swapped = {**leg("right", **bent), **leg("left", **straight),
               L.RIGHT_HEEL: heels[L.LEFT_HEEL], L.LEFT_HEEL: heels[L.RIGHT_HEEL],
               L.RIGHT_FOOT_INDEX: heels[L.LEFT_FOOT_INDEX], L.LEFT_FOOT_INDEX: heels[L.RIGHT_FOOT_INDEX]}
    one_side = {**leg("left", **bent), L.LEFT_HEEL: heels[L.LEFT_HEEL], L.LEFT_FOOT_INDEX: heels[L.LEFT_FOOT_INDEX]}
    seq = make_seq([labelled, swapped, one_side, {L.NOSE: (100, 100)}])
    m = compute_measures(seq, ["knee_flexion_left", "knee_flexion_max", "heel_height_max"], space="image")
    assert m["knee_flexion_left"][0] == pytest.approx(90.0, abs=1e-3)
    assert m["knee_flexion_left"][1] == pytest.approx(0.0, abs=1e-3)  # the per-side angle jumps
    np.testing.assert_allclose(m["knee_flexion_max"][:3], 90.0, atol=1e-3)  # the bent knee does not
    # the raised heel: 30 px above the lowest point (the other heel at y=320), leg ~ 2 x 141 or 300 px
    assert m["heel_height_max"][0] == pytest.approx(m["heel_height_max"][1], abs=1e-6)
    assert m["heel_height_max"][0] > 0.05
    assert np.isnan(m["knee_flexion_max"][3]) and np.isnan(m["heel_height_max"][3])


# --- angle core: fused (numba) and numpy backends give the same angles as a per-frame math loop ---

from formcheck import measures as _m

TRIP8 = [(23, 25, 27), (24, 26, 28), (11, 23, 25), (12, 24, 26), (11, 13, 15), (12, 14, 16),
         (23, 11, 13), (24, 12, 14)]


@pytest.fixture(params=["numpy", "fused"])
def angle_backend(request) -> str:
    if request.param == "fused":
        pytest.importorskip("numba")
    return request.param


def _loop_angles(pts: np.ndarray, trip) -> np.ndarray:
    """Reference: per frame, per triplet, in Python floats with math.atan2 (NaN in -> NaN out)."""
    out = np.empty((len(trip), pts.shape[0]))
    for t in range(pts.shape[0]):
        lm = pts[t].astype(np.float64).tolist()
        for r, (a, b, c) in enumerate(trip):
            u = [p - q for p, q in zip(lm[a], lm[b])]
            v = [p - q for p, q in zip(lm[c], lm[b])]
            dot = sum(p * q for p, q in zip(u, v))
            if len(u) == 2:
                cross = abs(u[0] * v[1] - u[1] * v[0])
            else:
                cx, cy, cz = u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]
                cross = math.sqrt(cx * cx + cy * cy + cz * cz)
            out[r, t] = math.degrees(math.atan2(cross, dot))
    return out


def _random_pts(T: int, dims: int, dtype, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pts = (rng.normal(size=(T, 33, dims)) * 100 + 300).astype(dtype)
    if T > 5:
        pts[3] = np.nan  # no person in frame 3
        pts[5, 25] = np.nan  # left knee hidden in frame 5
    return pts


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_angle_core_matches_the_python_loop(angle_backend: str, dims: int, dtype) -> None:
    pts = _random_pts(20_000, dims, dtype)  # 160 k evaluations: "auto" would pick fused too
    ref = _loop_angles(pts[:2000], TRIP8)
    direct = _m.sequence_angles(pts, TRIP8, backend=angle_backend)
    via_comp = _m.joint_angles(_m.to_components(pts), TRIP8, backend=angle_backend)
    for got in (direct, via_comp):
        assert got.shape == (8, 20_000) and got.dtype == np.float32
        np.testing.assert_allclose(got[:, :2000], ref, atol=2e-3, equal_nan=True)
        assert np.isnan(got[:, 3]).all()
        assert np.isnan(got[[0, 2], 5]).all() and np.isfinite(got[[1, 3, 4, 5, 6, 7], 5]).all()
        assert np.isfinite(np.delete(got, [3, 5], axis=1)).all()


@pytest.mark.parametrize("dims", [2, 3])
def test_fused_and_numpy_backends_agree(dims: int) -> None:
    pytest.importorskip("numba")
    pts = _random_pts(30_001, dims, np.float32, seed=1)
    for fn, arg in ((_m.sequence_angles, pts), (_m.joint_angles, _m.to_components(pts))):
        fused, numpy_ = (fn(arg, TRIP8, backend=b) for b in ("fused", "numpy"))
        np.testing.assert_array_equal(np.isnan(fused), np.isnan(numpy_))
        np.testing.assert_allclose(fused, numpy_, atol=2e-3, equal_nan=True)


def test_fused_atan2_is_exact_over_the_whole_range_and_at_the_ends() -> None:
    """Constructed angles 0..180 deg (incl. exactly 0, 90, 180 and within 1e-3 deg of the ends) read
    back to well under the 2e-3 deg target, in 2D and 3D, and coincident points give what atan2 gives."""
    pytest.importorskip("numba")
    deg = np.concatenate([np.linspace(0, 180, 200_001), [1e-3, 5e-4, 179.999, 179.9995, 90.0]])
    th = np.radians(deg)
    T = len(deg)
    pts = np.zeros((T, 33, 3))
    pts[:, 1] = (2.0, 1.0, 0.5)  # vertex
    pts[:, 0] = pts[:, 1] + np.array([3.0, 0.0, 0.0])  # a: along x
    pts[:, 2, 0] = pts[:, 1, 0] + 5.0 * np.cos(th)
    pts[:, 2, 1] = pts[:, 1, 1] + 5.0 * np.sin(th)
    pts[:, 2, 2] = 0.5
    for dims in (2, 3):
        got = _m.sequence_angles(pts[..., :dims], [(0, 1, 2)], backend="fused")[0]
        exact = np.degrees(np.arctan2(np.abs(np.sin(th)) * 15.0, np.cos(th) * 15.0)).astype(np.float32)
        assert np.abs(got - exact).max() < 1e-4
        assert got[0] == 0.0 and got[200_000] == np.float32(180.0)
    same = np.zeros((3, 33, 3), np.float32)
    same[:, 2] = [(1, 0, 0), (-1, 0, 0), (0, 0, 0)]  # a = b: zero-length arm
    for dims in (2, 3):
        fused = _m.sequence_angles(same[..., :dims], [(0, 1, 2)], backend="fused")
        numpy_ = _m.sequence_angles(same[..., :dims], [(0, 1, 2)], backend="numpy")
        np.testing.assert_array_equal(fused, numpy_)


@pytest.mark.parametrize("T", [0, 1])
def test_angle_core_on_empty_and_single_frame(angle_backend: str, T: int) -> None:
    pts = _random_pts(T, 3, np.float32, seed=2)
    for got in (_m.sequence_angles(pts, TRIP8, backend=angle_backend),
                _m.joint_angles(_m.to_components(pts), TRIP8, backend=angle_backend)):
        assert got.shape == (8, T)
        np.testing.assert_allclose(got, _loop_angles(pts, TRIP8), atol=2e-3)
    assert _m.sequence_angles(pts, [], backend=angle_backend).shape == (0, T)


def test_angle_core_reads_non_contiguous_input(angle_backend: str) -> None:
    base = _random_pts(9_000, 3, np.float64, seed=3)
    views = {
        "image xy of xyz": base[..., :2],
        "every other frame": base[::2],
        "fortran order": np.asfortranarray(base),
        "read-only": np.lib.stride_tricks.as_strided(base, writeable=False),
    }
    for name, view in views.items():
        want = _loop_angles(np.ascontiguousarray(view[:1500]), TRIP8)
        got = _m.sequence_angles(view, TRIP8, backend=angle_backend)
        np.testing.assert_allclose(got[:, :1500], want, atol=2e-3, equal_nan=True, err_msg=name)
        comp = _m.to_components(view)[:, :, ::-1][:, :, ::-1]  # a strided (33, D, T)
        np.testing.assert_allclose(_m.joint_angles(comp, TRIP8, backend=angle_backend)[:, :1500], want,
                                   atol=2e-3, equal_nan=True, err_msg=name)


def test_angle_core_writes_into_out_and_rejects_bad_arguments(angle_backend: str) -> None:
    pts = _random_pts(100, 3, np.float32)
    out = np.full((2, 100), -1.0, np.float32)
    res = _m.sequence_angles(pts, TRIP8[:2], out=out, backend=angle_backend)
    assert res is out and np.isfinite(out[:, 6:]).all()
    with pytest.raises(FieldError, match="triplets"):
        _m.sequence_angles(pts, [(23, 25, 33)], backend=angle_backend)
    with pytest.raises(FieldError, match="triplets"):
        _m.joint_angles(_m.to_components(pts), [(-1, 25, 27)], backend=angle_backend)
    with pytest.raises(FieldError, match="out"):
        _m.sequence_angles(pts, TRIP8, out=np.empty((8, 99), np.float32), backend=angle_backend)
    with pytest.raises(FieldError, match="out"):
        _m.joint_angles(_m.to_components(pts), TRIP8[:1], out=np.empty((1, 100)), backend=angle_backend)
    with pytest.raises(FieldError, match="points"):
        _m.sequence_angles(np.zeros((100, 33, 4), np.float32), TRIP8, backend=angle_backend)
    with pytest.raises(FieldError, match="backend"):
        _m.sequence_angles(pts, TRIP8, backend="cuda")


def test_without_numba_the_numpy_path_is_used(monkeypatch) -> None:
    pts = _random_pts(30_000, 3, np.float32, seed=4)
    want = _m.sequence_angles(pts, TRIP8, backend="numpy")
    monkeypatch.setattr(_m, "_fused_module", False)  # as after a failed `import numba`
    np.testing.assert_array_equal(_m.sequence_angles(pts, TRIP8), want)
    np.testing.assert_array_equal(_m.joint_angles(_m.to_components(pts), TRIP8),
                                  _m.joint_angles(_m.to_components(pts), TRIP8, backend="numpy"))
    with pytest.raises(FieldError, match="numba is not installed"):
        _m.sequence_angles(pts, TRIP8, backend="fused")


def test_numba_is_imported_only_when_a_large_sequence_needs_it() -> None:
    """`import formcheck.measures` and a live frame's measures never load numba (no JIT at startup)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "import formcheck.measures as m\n"
        "assert 'numba' not in sys.modules, 'numba imported by import formcheck.measures'\n"
        "pts = np.random.default_rng(0).normal(size=(300, 33, 3)).astype(np.float32)\n"
        "m.sequence_angles(pts, [(23, 25, 27)] * 8)\n"
        "assert 'numba' not in sys.modules, 'numba imported for a short clip'\n"
        "m.sequence_angles(np.repeat(pts, 10, axis=0), [(23, 25, 27)] * 8)\n"
        "print('numba' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    try:
        import numba  # noqa: F401
    except ImportError:
        assert done.stdout.strip() == "False"
    else:
        assert done.stdout.strip() == "True"


# ------------------------------------------------------------------------------------------------
# trunk_line_drop: the trunk line below the person's own resting level (pelvic tilt)
# ------------------------------------------------------------------------------------------------

def _trunk_line_seq(deg: np.ndarray, fps: float = 10.0) -> PoseSequence:
    """Lying on the back (hip right of the shoulder), the trunk line ``deg`` above the horizontal."""
    frames = [{L.LEFT_SHOULDER: (150.0, 300.0 - 150.0 * math.tan(math.radians(a))), L.LEFT_HIP: (300.0, 300.0)}
              for a in deg]
    return make_seq(frames, fps=fps)


def _eased_holds(t: np.ndarray, starts: list[float], amount: float, ramp_s: float, hold: float) -> np.ndarray:
    """Movements that ease by ``amount`` in ``ramp_s`` (a cosine ramp), hold ``hold`` s and ease back."""
    out = np.zeros_like(t)
    for s in starts:
        x = np.clip(np.minimum(t - s, s + hold + 2 * ramp_s - t) / ramp_s, 0.0, 1.0)
        out += amount * (0.5 - 0.5 * np.cos(np.pi * x))
    return out


def _tilts(t: np.ndarray, starts: list[float], depth: float = 1.5, hold: float = 5.0) -> np.ndarray:
    """Posterior tilts: the trunk line eases down by ``depth`` in 1 s, holds, eases back in 1 s."""
    return -_eased_holds(t, starts, depth, 1.0, hold)


def test_trunk_line_drop_reads_a_tilt_against_the_own_rest_whatever_the_body_or_camera() -> None:
    t = np.arange(0, 20, 0.1)
    rng = np.random.default_rng(1)
    line = _tilts(t, [2.0]) + rng.normal(0, 0.03, t.size)
    m = {off: compute_measures(_trunk_line_seq(line + off), ["trunk_line_drop"], space="image")["trunk_line_drop"]
         for off in (0.0, -3.0, 4.0)}  # another body, another camera height
    d = m[0.0]
    assert np.isnan(d[:4]).all()  # no rest yet: unknown, never a made-up drop
    assert np.all(np.abs(d[(t > 0.6) & (t < 2.0)]) < 0.15)  # at rest
    assert np.all(np.abs(d[(t > 3.2) & (t < 8.0)] - 1.5) < 0.2)  # the held tilt, in degrees
    assert np.all(np.abs(d[t > 10.5]) < 0.15)  # back at rest
    for off in (-3.0, 4.0):
        assert np.allclose(m[off], d, atol=0.02, equal_nan=True)


def test_trunk_line_drop_is_causal_and_follows_a_rest_that_drifted() -> None:
    from formcheck.measures import TRUNK_LINE_REST
    from formcheck.resting import drop_below_rest

    t = np.arange(0, 40, 0.1)
    line = _tilts(t, [2.0, 20.0]) - 0.4 * (t > 9.0)  # the landmarks settle 0.4 deg lower after the first tilt
    d = drop_below_rest(line, t, **TRUNK_LINE_REST)
    later = line.copy()
    later[200:] += 3.0  # what happens later cannot change what was measured before
    assert np.array_equal(drop_below_rest(later, t, **TRUNK_LINE_REST)[:200], d[:200], equal_nan=True)
    # the old, higher rest reads as 0.4 below it until it leaves the 10-s window; then the new rest is 0
    assert np.all(np.abs(d[(t > 13.0) & (t < 20.0)]) < 0.05)
    assert np.all(np.abs(d[(t > 21.5) & (t < 26.0)] - 1.5) < 0.05)  # the second tilt against the new rest


def test_trunk_line_drop_forgets_the_sitting_posture_when_lying_down() -> None:
    t = np.arange(0, 20, 0.1)
    line = np.interp(t, [0, 3, 5, 20], [70, 70, 0, 0])  # sitting still, lies down in 2 s, lies still
    d = compute_measures(_trunk_line_seq(line), ["trunk_line_drop"], space="image")["trunk_line_drop"]
    assert np.nanmax(np.abs(d[t > 5.0])) < 0.1  # lying is not a 70-deg tilt
    assert np.isfinite(d[t > 6.0]).all()  # the new rest is found within a second


def test_trunk_line_drop_streaming_equals_the_recorded_one() -> None:
    from formcheck.analysis import StreamingMeasures

    t = np.arange(0, 25, 0.1)
    line = _tilts(t, [2.0, 12.0]) + np.random.default_rng(2).normal(0, 0.05, t.size)
    seq = _trunk_line_seq(line)
    batch = compute_measures(seq, ["trunk_line_drop"], space="image")["trunk_line_drop"]
    stream = StreamingMeasures(["trunk_line_drop"], "image", 0.5)
    live = np.array([stream(seq.frame(i))["trunk_line_drop"] for i in range(len(t))])
    assert np.allclose(batch, live, atol=1e-4, equal_nan=True)
    assert batch[60] > 1.3 and abs(batch[110]) < 0.2
    assert math.isnan(frame_measures(seq.frame(60), ["trunk_line_drop"])["trunk_line_drop"])  # needs history


def test_resting_reference_rejects_bad_options() -> None:
    from formcheck.resting import RestingReference

    for kw in ({"window_s": 0}, {"smooth_s": -1}, {"still_range": 0}, {"max_drop": float("nan")},
               {"min_span_s": 2.0}):
        with pytest.raises(FieldError):
            RestingReference(**kw)


def test_diagonal_reach_follows_the_opposite_leg_when_the_far_arm_is_hidden() -> None:
    """Bird-dog: the reach is the arm's flexion (90 -> 170 deg) or the opposite leg's lift (thigh -60 -> 0
    deg above the horizontal) as % of a full reach, whichever reads further; a kneeling thigh anywhere
    between -90 and -68 deg and an arm on the floor read as no reach."""
    def frame(arm_deg: float, thigh_deg: float, arm_seen: bool = True) -> dict:
        sh, hip = np.array([200.0, 200.0]), np.array([400.0, 200.0])  # trunk horizontal, head to the left
        a = math.radians(arm_deg)  # flexion from the hip direction (+x) towards the head (-x), below the trunk
        elbow = sh + 80.0 * np.array([math.cos(a), math.sin(a)])
        th = math.radians(thigh_deg)  # the right thigh, elevation above the horizontal, pointing back (+x)
        knee = hip + 90.0 * np.array([math.cos(th), -math.sin(th)])
        pts = {L.LEFT_SHOULDER: sh, L.LEFT_HIP: hip, L.RIGHT_HIP: hip, L.RIGHT_SHOULDER: sh, L.RIGHT_KNEE: knee}
        if arm_seen:
            pts[L.LEFT_ELBOW] = elbow
        return pts

    seq = make_seq([frame(90, -90), frame(90, -70), frame(170, -80), frame(120, 0), frame(90, -30, False)])
    r = compute_measures(seq, ["diagonal_reach_left"], space="image")["diagonal_reach_left"]
    assert r[0] <= 0 and r[1] <= 0  # kneeling, arm down: no reach
    assert r[2] == pytest.approx(100, abs=1)  # the arm at full reach
    assert r[3] == pytest.approx(100, abs=1)  # the far arm reads 120 deg, the opposite leg is level: full reach
    assert r[4] == pytest.approx(50, abs=1)  # arm hidden: the leg alone


# hip_drop: the hips below the person's own standing height above the ankles (front-view squat)
# ------------------------------------------------------------------------------------------------

def _front_squat_seq(drop_pct: np.ndarray, scale: np.ndarray | float = 1.0, fps: float = 10.0,
                     noise: float = 0.0, seed: int = 0) -> PoseSequence:
    """A person seen from the front: shoulders 180 px apart, the hips ``drop_pct`` % below their standing
    height of 400 px above the ankles; ``scale`` is the size in the image (camera distance) per frame."""
    rng = np.random.default_rng(seed)
    scale = np.broadcast_to(np.asarray(scale, np.float64), drop_pct.shape)
    frames = []
    for d, s in zip(drop_pct, scale):
        hip_h = 400.0 * math.exp(-d / 100.0)  # a 100 ln drop of d
        j = rng.normal(0, noise, 2) if noise else (0.0, 0.0)
        ax, ay = 320.0, 460.0
        frames.append({
            L.LEFT_ANKLE: (ax + 40 * s, ay), L.RIGHT_ANKLE: (ax - 40 * s, ay),
            L.LEFT_HIP: (ax + 45 * s, ay - (hip_h + j[0]) * s), L.RIGHT_HIP: (ax - 45 * s, ay - (hip_h + j[0]) * s),
            L.LEFT_SHOULDER: (ax + 90 * s + j[1], ay - 650 * s), L.RIGHT_SHOULDER: (ax - 90 * s, ay - 650 * s)})
    return make_seq(frames, fps=fps)


def _squats(t: np.ndarray, starts: list[float], depth: float = 6.5, hold: float = 5.0) -> np.ndarray:
    """Squats: the hips ease down ``depth`` % in 1.5 s, hold, ease back up in 1.5 s."""
    return _eased_holds(t, starts, depth, 1.5, hold)


def test_hip_drop_reads_a_squat_against_the_own_standing_height_whatever_the_size_in_the_image() -> None:
    t = np.arange(0, 25, 0.1)
    drop = _squats(t, [2.0, 13.0])
    m = {s: compute_measures(_front_squat_seq(drop, s), ["hip_drop"], space="image")["hip_drop"]
         for s in (1.0, 0.6, 1.3)}  # a smaller person / a camera further away, and nearer
    d = m[1.0]
    assert np.isnan(d[:3]).all()  # no standing level yet (0.3 s of frames): unknown, never a made-up drop
    assert np.all(np.abs(d[(t > 0.6) & (t < 2.0)]) < 0.05)
    assert np.all(np.abs(d[(t > 3.6) & (t < 8.4)] - 6.5) < 0.05)  # the held squat, % of the standing height
    assert np.all(np.abs(d[(t > 10.6) & (t < 13.0)]) < 0.05)  # standing again
    for s in (0.6, 1.3):
        assert np.allclose(m[s], d, atol=0.02, equal_nan=True)


def test_hip_drop_a_step_back_from_the_camera_does_not_fake_a_squat() -> None:
    t = np.arange(0, 20, 0.1)
    scale = np.interp(t, [0, 4, 6, 20], [1.0, 1.0, 0.8, 0.8])  # steps back: 20 % smaller in the image
    d = compute_measures(_front_squat_seq(np.zeros_like(t), scale), ["hip_drop"], space="image")["hip_drop"]
    assert np.isfinite(d[t > 1.0]).all() and np.nanmax(np.abs(d)) < 0.05  # the hips' 22 % fewer pixels are no squat


def test_hip_drop_is_causal_and_follows_a_standing_height_that_drifted() -> None:
    from formcheck.measures import HIP_DROP_REST
    from formcheck.resting import drop_below_rest

    t = np.arange(0, 60, 0.1)
    level = 90.0 - _squats(t, [2.0, 40.0]) - 1.0 * (t > 12.0)  # the person stands 1 % lower after the first
    d = drop_below_rest(level, t, **HIP_DROP_REST)
    later = level.copy()
    later[300:] -= 8.0  # what happens later cannot change what was measured before
    assert np.array_equal(drop_below_rest(later, t, **HIP_DROP_REST)[:300], d[:300], equal_nan=True)
    # the old, higher standing level reads as 1 % below it until it leaves the 20-s window, then 0
    assert np.all(np.abs(d[(t > 33.0) & (t < 40.0)]) < 0.05)
    assert np.all(np.abs(d[(t > 41.6) & (t < 46.4)] - 6.5) < 0.05)  # the second squat against the new level


# heel_rise: the ankles above the person's own standing level over the toes (front-view heel raise)
# ------------------------------------------------------------------------------------------------

def _front_heel_raise_seq(rise_pct: np.ndarray, standing: float = 20.0, scale: np.ndarray | float = 1.0,
                          fps: float = 10.0, noise: float = 0.0, seed: int = 0) -> PoseSequence:
    """A person seen from the front: shoulders 180 px apart, the ankles ``standing`` + ``rise_pct`` % of that
    width above the toes (the standing value is set by the camera height); ``scale`` = size in the image."""
    rng = np.random.default_rng(seed)
    scale = np.broadcast_to(np.asarray(scale, np.float64), rise_pct.shape)
    frames = []
    for r, s in zip(rise_pct, scale):
        j = rng.normal(0, noise, 2) if noise else (0.0, 0.0)
        tx, ty = 320.0, 460.0
        ay = ty - 1.8 * (standing + r) * s + j[0]
        frames.append({
            L.LEFT_FOOT_INDEX: (tx + 45 * s, ty), L.RIGHT_FOOT_INDEX: (tx - 45 * s, ty),
            L.LEFT_ANKLE: (tx + 40 * s, ay), L.RIGHT_ANKLE: (tx - 40 * s, ay),
            L.LEFT_HIP: (tx + 45 * s, ty - 420 * s), L.RIGHT_HIP: (tx - 45 * s, ty - 420 * s),
            L.LEFT_SHOULDER: (tx + 90 * s + j[1], ty - 700 * s), L.RIGHT_SHOULDER: (tx - 90 * s, ty - 700 * s)})
    return make_seq(frames, fps=fps)


def _heel_raises(t: np.ndarray, starts: list[float], height: float = 8.0, hold: float = 5.0) -> np.ndarray:
    """Heel raises: the ankles ease up ``height`` % of the shoulder width in 0.8 s, hold, ease back down."""
    return _eased_holds(t, starts, height, 0.8, hold)


def test_heel_rise_reads_a_raise_against_the_own_standing_level_whatever_the_camera() -> None:
    t = np.arange(0, 20, 0.1)
    rise = _heel_raises(t, [2.0, 11.0])
    m = {(a, s): compute_measures(_front_heel_raise_seq(rise, a, s), ["heel_rise"], space="image")["heel_rise"]
         for a, s in ((20.0, 1.0), (8.0, 1.0), (35.0, 0.6))}  # camera lower / higher, further away
    d = m[(20.0, 1.0)]
    assert np.isnan(d[:3]).all()  # no standing level yet: unknown, never a made-up rise
    assert np.all(np.abs(d[(t > 0.6) & (t < 2.0)]) < 0.05)
    assert np.all(np.abs(d[(t > 2.9) & (t < 7.7)] - 8.0) < 0.05)  # the held raise, % of the shoulder width
    assert np.all(np.abs(d[(t > 9.0) & (t < 11.0)]) < 0.05)  # heels down again
    for key in ((8.0, 1.0), (35.0, 0.6)):  # the standing value differs, the rise does not
        assert np.allclose(m[key], d, atol=0.02, equal_nan=True)


def test_heel_rise_is_causal_and_follows_a_standing_level_that_drifted() -> None:
    from formcheck.measures import HEEL_RISE_REST
    from formcheck.resting import RestingReference, drop_below_rest, rise_above_rest

    t = np.arange(0, 60, 0.1)
    level = 20.0 + _heel_raises(t, [2.0, 40.0]) + 1.0 * (t > 12.0)  # stands 1 % higher after the first raise
    d = drop_below_rest(level, t, **HEEL_RISE_REST)
    assert np.array_equal(d, rise_above_rest(level, t, **{k: v for k, v in HEEL_RISE_REST.items() if k != "rise"}),
                          equal_nan=True)
    later = level.copy()
    later[300:] += 8.0  # what happens later cannot change what was measured before
    assert np.array_equal(drop_below_rest(later, t, **HEEL_RISE_REST)[:300], d[:300], equal_nan=True)
    # the old, lower standing level reads as 1 % above it until it leaves the 20-s window, then 0
    assert np.all(np.abs(d[(t > 13.0) & (t < 30.0)] - 1.0) < 0.05)
    assert np.all(np.abs(d[(t > 33.0) & (t < 40.0)]) < 0.05)
    assert np.all(np.abs(d[(t > 40.9) & (t < 45.7)] - 8.0) < 0.05)  # the second raise against the new level
    ref = RestingReference(**HEEL_RISE_REST)
    for v, ti in zip(level[:20], t[:20]):
        ref.update(v, ti)
    assert ref.reference == pytest.approx(20.0)  # the level itself, not its mirror image


def _front_sequences() -> dict[str, tuple]:
    """measure -> (its front-view sequence builder, its movement script, the per-frame base measure, a
    landmark it needs, a frame mid-movement, the least it reads there, a frame at rest after it)."""
    return {"hip_drop": (_front_squat_seq, lambda t: _squats(t, [2.0, 13.0]), "hip_level", L.LEFT_ANKLE,
                         60, 5.0, 115),
            "heel_rise": (_front_heel_raise_seq, lambda t: _heel_raises(t, [2.0, 11.0]), "ankle_lift",
                          L.RIGHT_FOOT_INDEX, 50, 6.0, 100)}


@pytest.mark.parametrize("name", ["hip_drop", "heel_rise"])
def test_front_view_rest_measures_are_unknown_where_a_landmark_is_hidden(name: str) -> None:
    build, _, base, hidden, _, _, _ = _front_sequences()[name]
    t = np.arange(0, 5, 0.1)
    seq = build(np.zeros_like(t))
    seq.visibility[20:30, int(hidden)] = 0.1
    d = compute_measures(seq, [name, base], space="image")
    assert np.isnan(d[base][20:30]).all() and np.isnan(d[name][20:30]).all()
    assert np.isfinite(d[name][35:]).all()


@pytest.mark.parametrize("name", ["hip_drop", "heel_rise"])
def test_front_view_rest_measures_streaming_equal_the_recorded_ones(name: str) -> None:
    from formcheck.analysis import StreamingMeasures

    build, script, _, _, moving, least, resting = _front_sequences()[name]
    t = np.arange(0, 25, 0.1)
    seq = build(script(t), noise=0.3, seed=3)  # frame-to-frame landmark noise
    batch = compute_measures(seq, [name], space="auto")[name]
    stream = StreamingMeasures([name], "auto", 0.5)
    live = np.array([stream(seq.frame(i))[name] for i in range(len(t))])
    assert np.allclose(batch, live, atol=1e-4, equal_nan=True)
    assert batch[moving] > least and abs(batch[resting]) < 1.0
    assert stream.view == "front"
    assert math.isnan(frame_measures(seq.frame(moving), [name])[name])  # needs history
