"""Video input: timestamps, rotation metadata, downscaling, truncated files and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formcheck.errors import VideoError
from formcheck.video import open_video

W, H, N, FPS = 160, 96, 45, 30


def _write(path: Path, n: int = N, rotation: int | None = None, fps: int = FPS, faststart: bool = False,
           gop: int = 10) -> Path:
    import av

    rng = np.random.default_rng(1)
    opts = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=opts) as c:
        s = c.add_stream("libx264", rate=fps, options={"g": str(gop)})
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        if rotation is not None:
            s.set_display_rotation(rotation)
        for i in range(n):
            img = (rng.integers(0, 255, (H, W, 3), dtype=np.uint8) // 4)
            img[:20, :30] = 255  # a white marker in the top-left corner of the encoded picture
            img[40:60, (2 * i) % 140:(2 * i) % 140 + 20] = (0, 0, 255)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _marker_box(img: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(img.min(axis=2) > 200)
    return int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())


def test_frames_times_and_size(tmp_path: Path) -> None:
    p = _write(tmp_path / "clip.mp4")
    with open_video(p) as v:
        assert v.size == (W, H) and v.fps == pytest.approx(FPS) and v.frame_count == N
        frames = list(v)
    assert [f.index for f in frames] == list(range(N))
    t = np.array([f.t for f in frames])
    assert t[0] == 0.0
    np.testing.assert_allclose(np.diff(t), 1.0 / FPS, atol=1e-3)
    assert frames[0].image_bgr.shape == (H, W, 3) and frames[0].image_bgr.dtype == np.uint8
    assert not v.truncated


def test_every_nth_frame_keeps_source_index_and_time(tmp_path: Path) -> None:
    p = _write(tmp_path / "clip.mp4")
    with open_video(p, every=4) as v:
        frames = list(v)
    assert [f.index for f in frames] == list(range(0, N, 4))
    np.testing.assert_allclose([f.t for f in frames], np.arange(0, N, 4) / FPS, atol=1e-3)


def test_rotation_metadata_is_applied(tmp_path: Path) -> None:
    p = _write(tmp_path / "rot.mp4", rotation=90)  # display: rotate 90 degrees counter-clockwise
    with open_video(p) as v:
        assert v.rotation == 90
        assert v.size == (H, W)
        img = next(iter(v)).image_bgr
    assert img.shape == (W, H, 3)
    y0, y1, x0, x1 = _marker_box(img)
    # the top-left marker (20 rows x 30 cols) ends bottom-left, 30 rows x 20 cols
    assert x0 == 0 and y1 == W - 1 and (y1 - y0 + 1, x1 - x0 + 1) == (30, 20)


def test_max_side_downscales(tmp_path: Path) -> None:
    p = _write(tmp_path / "clip.mp4", n=3)
    with open_video(p, max_side=80) as v:
        assert v.size == (80, 48)
        assert next(iter(v)).image_bgr.shape == (48, 80, 3)


def test_truncated_file_keeps_readable_frames(tmp_path: Path) -> None:
    full = _write(tmp_path / "full.mp4", n=90, faststart=True)
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with open_video(cut) as v:
        frames = list(v)
    assert 10 < len(frames) < 90
    assert v.truncated and "of 90 frames" in (v.error or "")


@pytest.mark.parametrize("content", [b"", b"this is a text file, not a video\n" * 50])
def test_not_a_video_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "notes.mp4"
    p.write_bytes(content)
    with pytest.raises(VideoError) as exc:
        open_video(p)
    msg = str(exc.value)
    assert str(p) in msg and "\n" not in msg


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="no such file"):
        open_video(tmp_path / "nope.mp4")
    with pytest.raises(VideoError, match="directory"):
        open_video(tmp_path)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    import av

    p = tmp_path / "sound.wav"
    with av.open(str(p), "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for pkt in s.encode(frame):
            c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    with pytest.raises(VideoError, match="no video stream"):
        open_video(p)


def test_missing_camera_is_a_clear_error() -> None:
    from formcheck.video import open_camera

    with pytest.raises(VideoError, match="camera 97"):
        open_camera(97)
