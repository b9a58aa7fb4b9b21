"""The back contour and lumbar curve measure on drawn masks (no model): a hollow low back reads larger
than a flat one and a rounded one reads negative, whatever the posture, the side the person faces and
the image scale; NaN where the measure cannot be trusted."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from formcheck.contour import back_profile, facing_sign, lumbar_curve, lumbar_curve_sequence
from formcheck.errors import FieldError
from formcheck.landmarks import Landmark


def _profile(s: np.ndarray, hollow: float) -> np.ndarray:
    """Back depth (torso lengths) of a drawn body: straight from the buttocks (s = -0.08) to the upper
    back (s = 0.8), falling off below and above; the lumbar part is ``hollow`` deep below that line
    (negative: it bulges = a rounded low back)."""
    line = 0.27 + 0.03 * (np.clip(s, -0.08, 0.8) + 0.08)
    falloff = 2.0 * np.clip(-0.08 - s, 0, None) ** 2 + 2.0 * np.clip(s - 0.8, 0, None) ** 2
    return line - falloff - hollow * np.exp(-0.5 * ((s - 0.32) / 0.12) ** 2)


def draw_body(hollow: float = 0.04, posture: str = "standing", mirror: bool = False, scale: float = 1.0,
              size: tuple[int, int] = (640, 480)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mask, xyz, visibility) of a drawn torso, head and thighs. Body frame: ``s`` along hip->shoulder,
    ``d`` towards the back (torso lengths); posture places that frame in the image."""
    W, H = size
    L = 150.0 * scale
    s = np.linspace(-0.3, 1.08, 200)
    back = np.stack([s, _profile(s, hollow)], 1)
    front = np.stack([s[::-1], np.full(s.size, -0.2)], 1)
    torso = np.concatenate([back, front])
    head = np.stack([1.25 + 0.14 * np.cos(a := np.linspace(0, 2 * np.pi, 60)), -0.05 + 0.14 * np.sin(a)], 1)
    # the body frame -> image: hip position, the direction of the torso (u) and of the back (b)
    if posture == "standing":
        hip, u, b = np.array([W / 2, H * 0.62]), np.array([0.0, -1.0]), np.array([1.0, 0.0])
        knee_bd = (-1.0, -0.08)  # straight legs: knees below the hips, slightly in front
        thigh_dir = -u
    elif posture == "supine":  # lying on the back: the back faces the floor (down in the image)
        hip, u, b = np.array([W * 0.45, H * 0.5]), np.array([1.0, 0.0]), np.array([0.0, 1.0])
        knee_bd = (-0.6, -0.6)  # hook lying: knees up
        thigh_dir = None
    elif posture == "prone":  # lying face down: the back faces up
        hip, u, b = np.array([W * 0.45, H * 0.5]), np.array([1.0, 0.0]), np.array([0.0, -1.0])
        knee_bd = (-1.0, 0.0)
        thigh_dir = -u
    elif posture == "all_fours":  # kneeling on hands and knees: back up, thighs vertical down from the hips
        hip, u, b = np.array([W * 0.35, H * 0.45]), np.array([1.0, 0.0]), np.array([0.0, -1.0])
        knee_bd = (0.0, -1.0)
        thigh_dir = None
    else:
        raise ValueError(posture)

    def to_img(p: np.ndarray) -> np.ndarray:
        return hip + L * (p[..., :1] * u + p[..., 1:2] * b)

    mask = np.zeros((H, W), np.uint8)
    cv2.fillPoly(mask, [np.round(to_img(torso)).astype(np.int32)], 255)
    cv2.fillPoly(mask, [np.round(to_img(head)).astype(np.int32)], 255)
    knee = to_img(np.array(knee_bd))
    # a thigh from the hip to the knee, drawn on the front part of the pelvis (under the buttocks)
    hip_img = to_img(np.array([0.0, 0.02]))
    cv2.line(mask, tuple(np.round(hip_img).astype(int)), tuple(np.round(knee).astype(int)), 255,
             int(0.22 * L))
    del thigh_dir
    xyz = np.full((33, 3), np.nan)
    vis = np.zeros(33)
    pts = {Landmark.LEFT_SHOULDER: (1.0, 0.0), Landmark.RIGHT_SHOULDER: (1.0, 0.02),
           Landmark.LEFT_HIP: (0.0, 0.0), Landmark.RIGHT_HIP: (0.0, 0.02), Landmark.NOSE: (1.27, -0.17)}
    for lm, p in pts.items():
        xyz[int(lm), :2] = to_img(np.array(p))
        vis[int(lm)] = 0.99
    for lm in (Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE):
        xyz[int(lm), :2] = knee
        vis[int(lm)] = 0.95
    xyz[:, 2] = np.where(np.isfinite(xyz[:, 0]), 0.0, np.nan)
    m = mask.astype(np.float32) / 255.0
    m = cv2.GaussianBlur(m, (5, 5), 1.0)  # a soft edge like the model's
    if mirror:
        m = m[:, ::-1].copy()
        xyz[:, 0] = (W - 1) - xyz[:, 0]
    return m, xyz, vis


POSTURES = ["standing", "supine", "prone", "all_fours"]


@pytest.mark.parametrize("posture", POSTURES)
def test_hollow_back_reads_larger_than_flat_and_rounded_reads_negative(posture):
    hollow = lumbar_curve(*draw_body(0.05, posture))
    flat = lumbar_curve(*draw_body(0.0, posture))
    rounded = lumbar_curve(*draw_body(-0.04, posture))
    assert hollow > flat + 2.0, (hollow, flat)
    assert flat > rounded + 2.0, (flat, rounded)
    assert hollow > 2.0 and rounded < 0.0


@pytest.mark.parametrize("posture", POSTURES)
def test_mirrored_image_gives_the_same_curve(posture):
    a = lumbar_curve(*draw_body(0.04, posture))
    b = lumbar_curve(*draw_body(0.04, posture, mirror=True))
    assert math.isfinite(a) and abs(a - b) < 0.3, (a, b)


def test_same_back_reads_the_same_standing_lying_kneeling_and_at_any_scale():
    vals = [lumbar_curve(*draw_body(0.04, p)) for p in POSTURES]
    vals.append(lumbar_curve(*draw_body(0.04, "standing", scale=0.5, size=(320, 240))))
    assert max(vals) - min(vals) < 0.6, vals


def test_curve_is_proportional_to_the_drawn_hollow():
    vals = [lumbar_curve(*draw_body(h, "standing")) for h in (0.0, 0.02, 0.04, 0.06)]
    steps = np.diff(vals)
    assert np.all(steps > 0.8) and np.ptp(steps) < 0.5 * steps.mean(), vals


def test_profile_finds_the_drawn_back_edge():
    mask, xyz, vis = draw_body(0.04, "standing")
    p = back_profile(mask, xyz, vis)
    assert p is not None
    ok = np.isfinite(p.depth)
    assert ok.mean() > 0.9
    truth = _profile(p.s[ok], 0.04)
    assert np.max(np.abs(p.depth[ok] - truth)) < 0.02  # within 3 px of 150
    pts = p.points()[ok]
    assert np.all(pts[:, 0] > xyz[int(Landmark.LEFT_HIP), 0])  # standing facing left: back on the right


def test_facing_from_nose_and_knees():
    _, xyz, vis = draw_body(0.04, "standing")
    _, xyz_m, vis_m = draw_body(0.04, "standing", mirror=True)
    assert facing_sign(xyz, vis) == -facing_sign(xyz_m, vis_m)
    # without the nose the knees still tell where the front is in hook lying / on all fours
    for posture in ("supine", "all_fours"):
        m, x, v = draw_body(0.04, posture)
        v2 = v.copy()
        v2[int(Landmark.NOSE)] = 0.0
        assert facing_sign(x, v2) == facing_sign(x, v)
        assert math.isfinite(lumbar_curve(m, x, v2))


def test_nan_when_it_cannot_be_measured():
    mask, xyz, vis = draw_body(0.04, "standing")
    assert math.isnan(lumbar_curve(None, xyz, vis))
    assert math.isnan(lumbar_curve(np.zeros_like(mask), xyz, vis))  # nobody in the mask
    hidden = vis.copy()
    hidden[[int(Landmark.LEFT_HIP), int(Landmark.RIGHT_HIP)]] = 0.1
    assert math.isnan(lumbar_curve(mask, xyz, hidden))
    front = xyz.copy()  # shoulders 0.7 torso lengths apart: a front view, the outline is not the back
    front[int(Landmark.RIGHT_SHOULDER), 0] += 0.7 * 150
    assert math.isnan(lumbar_curve(mask, front, vis))
    undecided = vis.copy()  # neither nose nor knees: the back side is unknown
    undecided[[int(Landmark.NOSE), int(Landmark.LEFT_KNEE), int(Landmark.RIGHT_KNEE)]] = 0.0
    assert math.isnan(lumbar_curve(mask, xyz, undecided))
    tiny_mask, tiny_xyz, tiny_vis = draw_body(0.04, "standing", scale=0.12)
    assert math.isnan(lumbar_curve(tiny_mask, tiny_xyz, tiny_vis))  # an 18-px torso


def test_sequence_and_bad_input():
    frames = [draw_body(h, "supine") for h in (0.0, 0.05)]
    out = lumbar_curve_sequence([f[0] for f in frames] + [None], np.stack([f[1] for f in frames] * 2)[:3],
                                np.stack([f[2] for f in frames] * 2)[:3])
    assert out.shape == (3,) and out[1] > out[0] + 2 and math.isnan(out[2])
    mask, xyz, vis = frames[0]
    with pytest.raises(FieldError, match="mask"):
        lumbar_curve(mask[None], xyz, vis)
    with pytest.raises(FieldError, match="xyz"):
        lumbar_curve(mask, xyz[:10], vis)
    with pytest.raises(FieldError, match="threshold"):
        back_profile(mask, xyz, vis, threshold=1.5)


# ------------------------------------------------------------------------------------------------
# Flattening against the person's own resting curve
# ------------------------------------------------------------------------------------------------

def test_flattening_rises_during_a_flattened_hold_and_returns_at_rest():
    from formcheck.contour import lumbar_flattening

    t = np.arange(0, 20, 0.1)
    held = (t >= 5) & (t < 10)
    rng = np.random.default_rng(0)
    curve = np.where(held, 5.0, 6.0) + rng.normal(0, 0.05, t.size) + 2.0  # another body: +2 everywhere
    f = lumbar_flattening(curve, t)
    assert np.all(f[(t >= 6) & (t < 10)] > 0.8)  # 1 % flatter than the rest before
    assert np.all(np.abs(f[(t >= 1) & (t < 5)]) < 0.25) and np.all(np.abs(f[t >= 11]) < 0.25)
    assert np.allclose(f, lumbar_flattening(curve - 2.0, t), atol=1e-5)  # independent of the body's level
    gap = curve.copy()
    gap[60:70] = np.nan
    g = lumbar_flattening(gap, t)
    assert np.all(np.isnan(g[60:70])) and np.all(g[75:95] > 0.8)  # hidden frames skipped, not a reset
    with pytest.raises(FieldError):
        lumbar_flattening(curve[:5], t)


# ------------------------------------------------------------------------------------------------
# Plumbing: the pose engine's per-frame channel, the sequence, the measures, the analysis options
# ------------------------------------------------------------------------------------------------

def test_sequence_carries_the_channel_through_slicing_and_npz(tmp_path):
    from formcheck.keypoints import PoseFrame, PoseSequence
    from formcheck.measures import compute_measures, frame_measures

    frames = [PoseFrame(np.zeros((33, 3)), np.zeros((33, 3)), np.ones(33), np.ones(33), i / 10, (64, 48),
                        lumbar_curve=float(i)) for i in range(5)]
    seq = PoseSequence.from_frames(frames)
    assert seq.lumbar_curve.tolist() == [0, 1, 2, 3, 4]
    assert seq[1:3].lumbar_curve.tolist() == [1, 2] and seq.frame(4).lumbar_curve == 4
    back = PoseSequence.load(seq.save(tmp_path / "s.npz"))
    assert back.lumbar_curve.tolist() == [0, 1, 2, 3, 4]
    assert compute_measures(back, ["lumbar_curve"])["lumbar_curve"].tolist() == [0, 1, 2, 3, 4]
    assert frame_measures(back.frame(3), ["lumbar_curve"])["lumbar_curve"] == 3
    old = PoseSequence(seq.xyz, seq.world, seq.visibility, seq.presence, seq.t, seq.image_size)
    assert np.isnan(old.lumbar_curve).all()  # absent = NaN, and old files load the same way
    np.savez_compressed(tmp_path / "old.npz", xyz=seq.xyz, world=seq.world, visibility=seq.visibility,
                        presence=seq.presence, t=seq.t, image_size=np.array(seq.image_size), fps=np.array(10.0))
    assert np.isnan(PoseSequence.load(tmp_path / "old.npz").lumbar_curve).all()
    with pytest.raises(FieldError, match="lumbar_curve"):
        PoseSequence(seq.xyz, seq.world, seq.visibility, seq.presence, seq.t, seq.image_size, 10.0, np.zeros(3))


def test_streaming_flattening_equals_the_recorded_one():
    from formcheck.analysis import StreamingMeasures
    from formcheck.keypoints import PoseSequence
    from formcheck.measures import compute_measures

    _, xyz, vis = draw_body(0.04, "supine")
    T = 120
    t = np.arange(T) / 10.0
    curve = 6.0 - 1.0 * ((t > 4) & (t < 9)) + np.sin(t) * 0.1
    xyz3 = np.repeat(np.nan_to_num(xyz, nan=0.0)[None], T, 0).astype(np.float32)
    seq = PoseSequence(xyz3, xyz3.copy(), np.repeat(vis[None], T, 0), np.ones((T, 33)), t, (640, 480),
                       lumbar_curve=curve)
    batch = compute_measures(seq, ["lumbar_flattening"], space="image")["lumbar_flattening"]
    stream = StreamingMeasures(["lumbar_flattening"], "image", 0.5)
    live = np.array([stream(seq.frame(i))["lumbar_flattening"] for i in range(T)])
    assert np.allclose(batch, live, atol=1e-5, equal_nan=True)
    assert batch[70] > 0.8 and abs(batch[30]) < 0.3


def test_analysis_switches_the_mask_on_only_for_specs_that_read_the_back_contour():
    from types import SimpleNamespace

    from formcheck.analysis import pose_options_for
    from formcheck.exercises import load_spec
    from formcheck.pose import PoseOptions

    assert pose_options_for(load_spec("plank")).lumbar_curve is False
    assert pose_options_for(load_spec("squat")).lumbar_curve is True  # lumbar_rounding reads the contour
    on = pose_options_for(SimpleNamespace(measures=["knee_flexion", "lumbar_flattening"]), PoseOptions(threads=1))
    assert on.lumbar_curve is True and on.threads == 1 and on.segmentation is False


def test_pose_engine_computes_the_channel_and_drops_the_mask(fixture_videos):
    from formcheck.pose import PoseEngine, PoseOptions
    from formcheck.video import open_video

    clip = fixture_videos / "pelvic_tilt__correct__side.mp4"
    if not clip.is_file():
        pytest.skip("rendered fixtures absent")
    engine = PoseEngine(PoseOptions(threads=1, lumbar_curve=True))
    plain = PoseEngine(PoseOptions(threads=1))
    got = []
    with open_video(clip) as video:
        for i, vf in enumerate(video):
            f = engine.update(vf.image_bgr, vf.t)
            p = plain.update(vf.image_bgr, vf.t)
            got.append((f.lumbar_curve, f.segmentation, p.lumbar_curve))
            if i >= 4:
                break
    assert all(math.isfinite(c) and 2.0 < c < 12.0 for c, _, _ in got)  # a hollow low back, lying supine
    assert all(m is None for _, m, _ in got)  # the mask is not kept per frame
    assert all(math.isnan(c) for _, _, c in got)  # not computed unless asked for


def test_pose_engine_runs_no_mask_in_a_front_view(fixture_videos):
    """A front view has no back outline to read: the segmentation head is not run (it costs ~10 ms a
    frame), the curve is NaN; the side view of the same exercise runs it every frame."""
    from formcheck.pose import PoseEngine, PoseOptions
    from formcheck.video import open_video

    runs = {}
    for view in ("front", "side"):
        clip = fixture_videos / f"wall_squat__{'knee_valgus' if view == 'front' else 'correct'}__{view}.mp4"
        if not clip.is_file():
            pytest.skip("rendered fixtures absent")
        engine = PoseEngine(PoseOptions(threads=1, lumbar_curve=True))
        seg_run = engine._seg.run
        count = [0]

        def counting(*a, _run=seg_run, _count=count, **k):
            _count[0] += 1
            return _run(*a, **k)

        engine._seg.run = counting
        curves = []
        with open_video(clip) as video:
            for i, vf in enumerate(video):
                curves.append(engine.update(vf.image_bgr, vf.t).lumbar_curve)
                if i >= 4:
                    break
        runs[view] = (count[0], curves)
    assert runs["front"][0] == 0 and all(math.isnan(c) for c in runs["front"][1])
    assert runs["side"][0] == 5 and all(math.isfinite(c) for c in runs["side"][1])


def test_interpolated_frames_carry_the_channel():
    from formcheck.analysis import interpolate_pose
    from formcheck.keypoints import PoseFrame

    a = PoseFrame(np.zeros((33, 3)), np.zeros((33, 3)), np.ones(33), np.ones(33), 0.0, (64, 48), lumbar_curve=6.0)
    b = PoseFrame(np.ones((33, 3)), np.ones((33, 3)), np.ones(33), np.ones(33), 1.0, (64, 48), lumbar_curve=5.0)
    assert interpolate_pose(a, b, 0.25).lumbar_curve == pytest.approx(5.75)
    hidden = PoseFrame(np.ones((33, 3)), np.ones((33, 3)), np.ones(33), np.ones(33), 1.0, (64, 48))
    assert interpolate_pose(a, hidden, 0.25).lumbar_curve == 6.0  # measured in one frame: the nearer one
    assert math.isnan(interpolate_pose(a, hidden, 0.75).lumbar_curve)
