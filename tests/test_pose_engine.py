"""The pose engine on real frames: a person is found, landmarks are in a sane order, lying people are
found too, nobody -> an empty result, tracking skips the detector, the followed person is kept."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from formcheck.errors import InputError
from formcheck.keypoints import PoseFrame
from formcheck.landmarks import Landmark as L
from formcheck.pose import PoseEngine, PoseOptions, estimate_video

STANDING_EXERCISES = ("squat", "wall_squat", "heel_raises")


def _synthetic_standing_front(fixture_videos: Path) -> tuple[np.ndarray, str] | None:
    """First frame of a rendered front-view standing fixture, if the synthetic fixtures exist."""
    for sidecar in sorted(fixture_videos.glob("*__*__front.json")):
        meta = json.loads(sidecar.read_text())
        if meta.get("exercise") in STANDING_EXERCISES and sidecar.with_suffix(".mp4").is_file():
            from formcheck.video import open_video

            with open_video(sidecar.with_suffix(".mp4")) as v:
                return next(iter(v)).image_bgr, sidecar.stem
    return None


@pytest.fixture(scope="module")
def standing(request: pytest.FixtureRequest) -> np.ndarray:
    """A front view of a person standing upright, facing the camera (BGR, longest side 640)."""
    fixture_videos: Path = request.getfixturevalue("fixture_videos")
    found = _synthetic_standing_front(fixture_videos)
    if found is not None:
        return found[0]
    shared: Path = request.getfixturevalue("shared_videos")  # skips when the real clips are absent
    from formcheck.video import open_video

    with open_video(shared / "squat_front_goblet.mp4", max_side=640) as v:
        return next(iter(v)).image_bgr


@pytest.fixture(scope="module")
def engine() -> PoseEngine:
    return PoseEngine(PoseOptions(smooth=False))


def _mid(xyz: np.ndarray, a: L, b: L) -> np.ndarray:
    return (xyz[a] + xyz[b]) / 2


def _torso(xyz: np.ndarray) -> float:
    return float(np.linalg.norm(_mid(xyz, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)[:2] - _mid(xyz, L.LEFT_HIP, L.RIGHT_HIP)[:2]))


def test_standing_person_found_in_sane_order(engine: PoseEngine, standing: np.ndarray) -> None:
    engine.reset()
    f = engine.update(standing, 0.0)
    assert f.found and f.image_size == (standing.shape[1], standing.shape[0])
    x, y = f.xyz[:, 0], f.xyz[:, 1]
    assert np.isfinite(f.xyz).all() and np.isfinite(f.world).all()
    # head above shoulders above hips above knees above ankles (image y grows downwards)
    sh, hp = _mid(f.xyz, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)[1], _mid(f.xyz, L.LEFT_HIP, L.RIGHT_HIP)[1]
    kn, an = _mid(f.xyz, L.LEFT_KNEE, L.RIGHT_KNEE)[1], _mid(f.xyz, L.LEFT_ANKLE, L.RIGHT_ANKLE)[1]
    assert y[L.NOSE] < sh < hp < kn < an
    # facing the camera, the person's left side is on the image's right
    for left, right in ((L.LEFT_SHOULDER, L.RIGHT_SHOULDER), (L.LEFT_HIP, L.RIGHT_HIP), (L.LEFT_EYE, L.RIGHT_EYE)):
        assert x[left] > x[right], left.name
    # a standing adult fills a good part of the frame; the torso is clearly visible
    assert _torso(f.xyz) > 0.1 * standing.shape[0]
    assert (f.visibility[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP]] > 0.5).all()
    # world landmarks: metres around the hip centre, y down -> the head is above (negative y)
    hip_w = _mid(f.world, L.LEFT_HIP, L.RIGHT_HIP)
    assert np.linalg.norm(hip_w) < 0.1 and f.world[L.NOSE, 1] < -0.4 and f.world[L.LEFT_ANKLE, 1] > 0.5


@pytest.mark.parametrize("image", ["black", "noise"])
def test_frame_without_person_is_empty_not_an_error(engine: PoseEngine, image: str) -> None:
    engine.reset()
    rng = np.random.default_rng(0)
    img = np.zeros((480, 640, 3), np.uint8) if image == "black" else rng.integers(0, 60, (480, 640, 3), np.uint8)
    f = engine.update(img, 0.0)
    assert isinstance(f, PoseFrame) and not f.found
    assert np.isnan(f.xyz).all() and np.isnan(f.world).all() and np.isnan(f.visibility).all()
    assert f.image_size == (640, 480)


@pytest.mark.parametrize("rotate", ["cw", "ccw"])
def test_lying_person_is_found_and_matches_upright(engine: PoseEngine, standing: np.ndarray, rotate: str) -> None:
    import cv2

    engine.reset()
    up = engine.update(standing, 0.0)
    h, w = standing.shape[:2]
    code = cv2.ROTATE_90_CLOCKWISE if rotate == "cw" else cv2.ROTATE_90_COUNTERCLOCKWISE
    engine.reset()
    lying = engine.update(cv2.rotate(standing, code), 0.0)
    assert lying.found
    # where the upright landmarks go under the same rotation
    if rotate == "cw":
        expect = np.stack([h - 1 - up.xyz[:, 1], up.xyz[:, 0]], axis=1)
    else:
        expect = np.stack([up.xyz[:, 1], w - 1 - up.xyz[:, 0]], axis=1)
    body = [L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE,
            L.LEFT_ANKLE, L.RIGHT_ANKLE, L.NOSE]
    err = np.linalg.norm(lying.xyz[body, :2] - expect[body], axis=1)
    assert np.median(err) < 0.08 * _torso(up.xyz), err
    # the head is on the side it was rotated to
    hip_x = _mid(lying.xyz, L.LEFT_HIP, L.RIGHT_HIP)[0]
    assert (lying.xyz[L.NOSE, 0] > hip_x) if rotate == "cw" else (lying.xyz[L.NOSE, 0] < hip_x)


def test_tracking_runs_detector_only_when_lost(standing: np.ndarray) -> None:
    eng = PoseEngine()
    frames = [eng.update(standing, i / 30) for i in range(4)]
    assert all(f.found for f in frames) and eng.stats.detector_runs == 1 and eng.tracking
    assert not eng.update(np.zeros_like(standing), 4 / 30).found and not eng.tracking
    assert eng.update(standing, 5 / 30).found and eng.stats.detector_runs >= 2
    # without tracking the detector runs on every frame
    static = PoseEngine(PoseOptions(tracking=False, smooth=False))
    for i in range(3):
        assert static.update(standing, i / 30).found
    assert static.stats.detector_runs == 3


def _zoom(img: np.ndarray, k: float) -> np.ndarray:
    """The same frame with everything ``k`` times larger (k > 1, centre crop) or smaller (k < 1, border
    replicated), same size: a nearer or farther person in a natural background."""
    import cv2

    h, w = img.shape[:2]
    m = np.array([[k, 0, (1 - k) * w / 2], [0, k, (1 - k) * h / 2]], np.float64)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def _hip_x(f: PoseFrame) -> float:
    return float(_mid(f.xyz, L.LEFT_HIP, L.RIGHT_HIP)[0])


def test_person_lock_keeps_the_patient(standing: np.ndarray) -> None:
    w = standing.shape[1]
    empty = np.empty_like(standing)
    empty[:] = standing.reshape(-1, 3).mean(axis=0).astype(np.uint8)  # a flat wall, nobody there
    solo = PoseEngine(PoseOptions(smooth=False))
    x_patient = _hip_x(solo.update(standing, 0.0))  # where the person stands within a frame

    # at the start, of two people side by side the larger (nearer) one is chosen
    eng = PoseEngine(PoseOptions(smooth=False))
    f = eng.update(np.hstack([_zoom(standing, 0.75), standing]), 0.0)
    assert f.found and abs(_hip_x(f) - (w + x_patient)) < 0.1 * w

    # the patient (left) is followed when a nearer visitor appears on the right ...
    alone = np.hstack([standing, empty])
    both = np.hstack([standing, _zoom(standing, 1.25)])
    t = 0.0
    eng.reset()
    for scene in [alone] * 3 + [both] * 3:
        f = eng.update(scene, t)
        assert f.found and abs(_hip_x(f) - x_patient) < 0.1 * w
        t += 1 / 30
    # ... and re-acquired after a moment out of sight, although the visitor is the larger one
    assert not eng.update(np.hstack([empty, empty]), t).found
    f = eng.update(both, t + 1 / 30)
    assert f.found and abs(_hip_x(f) - x_patient) < 0.1 * w
    # (without the lock, a fresh start on that scene takes the visitor)
    fresh = PoseEngine(PoseOptions(smooth=False)).update(both, 0.0)
    assert abs(_hip_x(fresh) - (w + x_patient)) < 0.15 * w


def test_segmentation_mask_covers_the_person(standing: np.ndarray) -> None:
    eng = PoseEngine(PoseOptions(segmentation=True, smooth=False))
    f = eng.update(standing, 0.0)
    assert f.segmentation is not None and f.segmentation.shape == standing.shape[:2]
    hip = _mid(f.xyz, L.LEFT_HIP, L.RIGHT_HIP)
    sh = _mid(f.xyz, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    belly = ((hip + sh) / 2).astype(int)
    assert f.segmentation[belly[1], belly[0]] > 0.8
    assert f.segmentation[5, 5] < 0.2 and f.segmentation.mean() < 0.5


def _write_video(path: Path, frames: list[np.ndarray], fps: int = 25) -> Path:
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        for img in frames:
            img = np.ascontiguousarray(img[: h - h % 2, : w - w % 2])
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_estimate_video_writes_one_row_per_frame(tmp_path: Path, standing: np.ndarray) -> None:
    h, w = standing.shape[:2]
    path = _write_video(tmp_path / "standing.mp4", [np.roll(standing, 3 * i, axis=1) for i in range(12)])
    info: dict = {}
    seq = estimate_video(path, progress=False, info=info)
    assert len(seq) == 12 and seq.found.all()
    np.testing.assert_allclose(np.diff(seq.t), 1 / 25, atol=1e-3)
    assert seq.image_size == (w - w % 2, h - h % 2) and seq.fps == pytest.approx(25)
    assert info["frames"] == 12 and info["found"] == 12 and not info["truncated"] and info["detector_runs"] == 1
    # the person moves right by 3 px a frame; landmarks follow
    hip_x = (seq.xyz[:, L.LEFT_HIP, 0] + seq.xyz[:, L.RIGHT_HIP, 0]) / 2
    assert 20 < hip_x[-1] - hip_x[0] < 45


def test_cli_pose_writes_landmarks_and_summary(tmp_path: Path, standing: np.ndarray,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from formcheck.cli import main
    from formcheck.keypoints import PoseSequence

    frames = [standing] * 4 + [np.zeros_like(standing)] * 2
    video = _write_video(tmp_path / "clip.mp4", frames)
    out = tmp_path / "res" / "clip.npz"
    assert main(["pose", str(video), "--out", str(out), "--quiet"]) == 0
    seq = PoseSequence.load(out)
    assert len(seq) == 6 and seq.found.tolist() == [True] * 4 + [False] * 2
    line = capsys.readouterr().out.strip()
    assert "6 frames" in line and "66.7%" in line and str(out) in line
    # a file that is not a video: one line, no traceback, non-zero exit
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    assert main(["pose", str(bad), "--out", str(tmp_path / "x.npz"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "not a readable video" in err and "Traceback" not in err


@pytest.mark.parametrize("bad", [np.zeros((10, 10, 5), np.uint8), "image.png", np.zeros((1, 1, 3), np.uint8)])
def test_bad_frame_input_is_a_clear_error(engine: PoseEngine, bad: object) -> None:
    with pytest.raises(InputError, match="frame"):
        engine.update(bad, 0.0)  # type: ignore[arg-type]
