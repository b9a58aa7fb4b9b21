"""Recorded-session analysis: the streaming pieces, the result document, and a real clip end to end.

The rendered fixtures with ground truth are checked in tests/test_analyze_fixtures.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from formcheck.analysis import (
    AnalysisOptions,
    NoPersonError,
    StreamingMeasures,
    UnknownExerciseError,
    analyze_video,
    build_document,
    gauge_range,
    interpolate_pose,
    resolve_exercise,
)
from formcheck.errors import OptionsError
from formcheck.exercises import Event, EventKind, load_spec, run_exercise
from formcheck.keypoints import PoseFrame
from formcheck.landmarks import Landmark as L
from formcheck.overlay import OverlayStateBuilder
from formcheck.report.schema import VideoInfo

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared" / "videos").resolve()


def frame(t: float, dx: float = 0.0, found: bool = True, vis: float = 0.9) -> PoseFrame:
    if not found:
        return PoseFrame.empty(t, (640, 480))
    xyz = np.tile(np.arange(33, dtype=np.float32)[:, None], (1, 3)) + dx
    return PoseFrame(xyz, xyz / 100, np.full(33, vis), np.full(33, vis), t, (640, 480))


# -- interpolation between pose estimates --------------------------------------------------------

def test_interpolate_pose_is_linear_in_time():
    a, b = frame(1.0, 0.0), frame(1.2, 10.0)
    mid = interpolate_pose(a, b, 1.05)
    assert mid.t == pytest.approx(1.05)
    assert np.allclose(mid.xyz, a.xyz + 2.5)
    assert np.allclose(mid.world, a.world + 0.025)


def test_interpolate_pose_when_the_person_appears_or_disappears():
    a, gone = frame(1.0), frame(1.2, found=False)
    assert interpolate_pose(a, gone, 1.05).found  # nearer to the frame with the person
    assert not interpolate_pose(a, gone, 1.15).found
    assert not interpolate_pose(gone, gone, 1.1).found
    # a landmark hidden (NaN) in one frame only: the nearer frame's value, never NaN mixed in
    b = frame(1.2, 10.0)
    b.xyz[L.LEFT_KNEE] = np.nan
    m = interpolate_pose(a, b, 1.05)
    assert np.allclose(m.xyz[L.LEFT_KNEE], a.xyz[L.LEFT_KNEE])


# -- options and exercise lookup -------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(max_side=10), dict(pose_rate=0), dict(crf=60), dict(preset="warp"),
                                dict(thumbnails=-1), dict(queue_size=0)])
def test_options_are_validated(kw):
    with pytest.raises(OptionsError):
        AnalysisOptions(**kw)


def test_unknown_exercise_names_the_closest():
    with pytest.raises(UnknownExerciseError, match="did you mean 'glute_bridge'"):
        resolve_exercise("glute-brigde")
    assert resolve_exercise("plank").id == "plank"


def test_gauge_always_holds_the_target_band():
    for spec_id in ("wall_squat", "glute_bridge", "ankle_pumps", "heel_raises", "plank"):
        k = load_spec(spec_id).key_measure()
        lo, hi = gauge_range(k["target_min"], k["target_max"], k["unit"], k["name"])
        for v in (k["target_min"], k["target_max"]):
            if v is not None:
                assert lo < v < hi, (spec_id, v, lo, hi)


# -- per-frame measures ----------------------------------------------------------------------------

def _standing(t: float, shoulder_half_width: float) -> PoseFrame:
    xyz = np.full((33, 3), np.nan, np.float32)
    xyz[L.LEFT_SHOULDER] = (320 - shoulder_half_width, 100, 0)
    xyz[L.RIGHT_SHOULDER] = (320 + shoulder_half_width, 100, 0)
    xyz[L.LEFT_HIP] = (320 - shoulder_half_width * 0.7, 250, 0)
    xyz[L.RIGHT_HIP] = (320 + shoulder_half_width * 0.7, 250, 0)
    for s, x in (("LEFT", -10), ("RIGHT", 10)):
        xyz[L[f"{s}_KNEE"]] = (320 + x + 30, 350, 0)
        xyz[L[f"{s}_ANKLE"]] = (320 + x, 450, 0)
    vis = np.where(np.isfinite(xyz[:, 0]), 0.95, 0.0).astype(np.float32)
    world = np.nan_to_num(xyz) / 300.0
    return PoseFrame(xyz, world, vis, vis, t, (640, 480))


def test_streaming_measures_settle_on_one_space():
    sm = StreamingMeasures(["knee_flexion_left"], "auto", 0.5, settle=5)
    for i in range(5):  # a front view (wide shoulders): world space
        m = sm(_standing(i / 30, 60))
        assert math.isfinite(m["knee_flexion_left"])
    assert sm._frozen == "world"
    sm(_standing(1.0, 2))  # a side-looking frame later does not switch the space any more
    assert sm._frozen == "world"
    side = StreamingMeasures(["knee_flexion_left"], "auto", 0.5, settle=3)
    for i in range(3):
        side(_standing(i / 30, 2))
    assert side._frozen == "image"
    nobody = sm(PoseFrame.empty(2.0, (640, 480)))
    assert all(math.isnan(v) for v in nobody.values())


# -- result document --------------------------------------------------------------------------------

def test_build_document_from_an_exercise_result():
    spec = load_spec("wall_squat")
    t = np.arange(0, 30, 1 / 30)
    knee = np.where((t % 10) < 7, 45.0, 0.0)  # three 7 s squats at 45 degrees
    knee[(t > 22) & (t < 29)] = 95.0  # the third is too deep
    m = {n: np.full_like(t, np.nan) for n in spec.concrete_measures()}
    m["knee_flexion"] = knee
    m["trunk_inclination"] = np.full_like(t, 5.0)
    m["shoulder_width_ratio"] = np.full_like(t, 0.1)
    result = run_exercise(spec, m, t=t)
    info = VideoInfo(path="v.mp4", fps=30, duration_s=30, frames=len(t), width=640, height=480)
    doc = build_document(result, spec, info, frames_with_person=len(t), partial=False, side=None)
    data = json.loads(doc.to_json())
    # the document says what the engine found, in the schema's terms
    assert data["exercise"] == "wall_squat" and data["prescription"]["reps"] == spec.prescription.reps
    assert data["rep_count"] == result.rep_count and len(data["reps"]) == len(result.reps) == 3
    assert [r["index"] for r in data["reps"]] == [1, 2, 3]
    assert [r["complete"] for r in data["reps"]] == [r.complete for r in result.reps]
    for got, want in zip(data["reps"], result.reps):
        assert got["start_s"] == pytest.approx(want.start_s, abs=1e-3)
        assert got["peak"] == pytest.approx(want.peak, abs=0.01)
    assert "too_deep" in data["reps"][2]["faults"] and "too_deep" not in data["reps"][0]["faults"]
    assert any(f["id"] == "too_deep" and f["severity"] == "harmful" and 21 < f["start_s"] < 24
               for f in data["faults"])
    lo, hi = spec.target_band()
    assert (data["key_measure"]["target_min"], data["key_measure"]["target_max"]) == (lo, hi)
    assert [h["duration_s"] for h in data["holds"]] == pytest.approx([h.duration_s for h in result.holds], abs=1e-3)


# -- overlay state from events ----------------------------------------------------------------------

def test_overlay_state_follows_the_events():
    b = OverlayStateBuilder(title="Wall squat", measure_name="knee_flexion", target_min=35, target_max=55,
                            reps_target=10, hold_target_s=5)
    s = b.update([], 0.0, 10.0)
    assert s.rep_count == 0 and s.hold_elapsed_s is None and not s.faults
    s = b.update([Event(EventKind.HOLD_STARTED, 1.0)], 1.0, 45.0)
    assert s.hold_elapsed_s == pytest.approx(0.0)
    s = b.update([], 3.0, 45.0)
    assert s.hold_elapsed_s == pytest.approx(2.0) and not s.hold_paused
    s = b.update([Event(EventKind.HOLD_PAUSED, 3.5)], 3.5, 60.0)
    s = b.update([], 4.0, 60.0)
    assert s.hold_paused and s.hold_elapsed_s == pytest.approx(2.5)
    s = b.update([Event(EventKind.HOLD_RESUMED, 4.2), Event(EventKind.FAULT_RAISED, 4.2, None,
                                                           {"id": "too_deep", "severity": "harmful"},
                                                           "Not so deep")], 4.2, 95.0)
    assert s.hold_elapsed_s == pytest.approx(2.5) and s.faults[0].severity == "harmful"
    assert s.faults[0].message == "Not so deep" and s.in_band is False
    s = b.update([Event(EventKind.FAULT_CLEARED, 5.0, None, {"id": "too_deep"}),
                  Event(EventKind.HOLD_ENDED, 5.0), Event(EventKind.REP_COMPLETED, 5.0),
                  Event(EventKind.CUE, 5.0, None, {}, "Breathe")], 5.0, 40.0)
    assert s.rep_count == 1 and not s.faults and s.hold_elapsed_s is None and s.cue == "Breathe"
    assert b.update([], 9.0).cue is None  # cues fade after a few seconds
    b.reset()
    assert b.update([], 10.0).rep_count == 0


# -- a real clip end to end ---------------------------------------------------------------------------

def _decoded_frames(path: Path) -> int:
    from formcheck.video import open_video

    with open_video(path) as r:
        return sum(1 for _ in r)


def test_real_clip_end_to_end(tmp_path: Path):
    clip = SHARED / "squat_side_bodyweight.mp4"
    if not clip.is_file():
        pytest.skip("../shared/videos is absent")
    from formcheck.report import write_reports

    seen: list[tuple[int, int]] = []
    r = analyze_video(clip, "squat", options=AnalysisOptions(video_path=tmp_path / "annotated.mp4",
                                                             progress=lambda d, n: seen.append((d, n))))
    doc = r.document
    n = _decoded_frames(clip)
    assert doc.video.frames == n == _decoded_frames(tmp_path / "annotated.mp4")
    assert doc.video.fps == pytest.approx(25.0) and doc.video.duration_s == pytest.approx(n / 25, abs=0.05)
    assert doc.frames_with_person > 0.9 * n and not doc.partial
    assert doc.rep_count == 2  # labels.csv: 2 squats
    assert seen and seen[-1][0] == n
    assert r.series is not None and len(r.series.t) == n
    assert r.timings["pose_frames"] < 0.6 * n  # 15 Hz pose on a 25 fps video
    files = write_reports(doc, tmp_path, series=r.series, thumbnails=r.thumbnails, video=r.video_path)
    html = files.report_html.read_text()
    assert "annotated.mp4" in html and "<svg" in html
    assert json.loads(files.result_json.read_text())["rep_count"] == 2


def _no_person_video(path: Path, frames: int = 40) -> Path:
    from formcheck.report.video import H264Writer

    _, xx = np.mgrid[0:120, 0:160]
    with H264Writer(path, (160, 120), fps=20) as w:
        for i in range(frames):
            w.write(((xx + 3 * i) % 256).astype(np.uint8)[..., None].repeat(3, axis=2), i / 20)
    return path


def test_a_failing_stage_stops_the_pipeline_without_hanging(tmp_path: Path, monkeypatch):
    from formcheck.report import video as video_mod

    src = _no_person_video(tmp_path / "src.mp4")
    calls = {"n": 0}
    real_write = video_mod.H264Writer.write

    def failing_write(self, image, t=None):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        return real_write(self, image, t)

    monkeypatch.setattr(video_mod.H264Writer, "write", failing_write)
    out = tmp_path / "annotated.mp4"
    with pytest.raises(OSError, match="No space left"):
        analyze_video(src, "wall_squat", options=AnalysisOptions(video_path=out, queue_size=1))
    assert not out.exists(), "a half-written video is removed"


def test_no_person_raises_after_reading_every_frame(tmp_path: Path):
    src = _no_person_video(tmp_path / "src.mp4", frames=12)
    with pytest.raises(NoPersonError, match="12 frames"):
        analyze_video(src, "plank", options=AnalysisOptions(video_path=tmp_path / "a.mp4"))
    assert not (tmp_path / "a.mp4").exists()


def test_streaming_analysis_matches_the_batch_engine(tmp_path: Path):
    """Frame-by-frame analysis (pose on every frame) gives what the batch path gives on the same video:
    estimate_video -> run_exercise. The streaming pieces (per-frame measures, threads) change nothing."""
    clip = SHARED / "squat_side_bodyweight.mp4"
    if not clip.is_file():
        pytest.skip("../shared/videos is absent")
    from formcheck.pose import PoseEngine, PoseOptions, estimate_video

    streamed = analyze_video(clip, "wall_squat", options=AnalysisOptions(pose_rate=None, video_path=None))
    seq = estimate_video(clip, PoseEngine(PoseOptions(threads=1)), progress=False, max_side=1280)
    batch = run_exercise("wall_squat", seq)
    s = streamed.exercise_result
    assert s.rep_count == batch.rep_count
    assert len(s.reps) == len(batch.reps) >= 1
    for a, b in zip(s.reps, batch.reps):
        assert (a.start_s, a.end_s, a.complete) == pytest.approx((b.start_s, b.end_s, b.complete), abs=0.05)
    assert [(f.id, round(f.start_s, 2)) for f in s.faults] == [(f.id, round(f.start_s, 2)) for f in batch.faults]
    assert [round(h.duration_s, 2) for h in s.holds] == [round(h.duration_s, 2) for h in batch.holds]


def test_cli_exercises_lists_every_spec_with_its_prescription(capsys):
    from formcheck.cli import main
    from formcheck.exercises import list_specs

    assert main(["exercises"]) == 0
    out = capsys.readouterr().out
    for spec in list_specs():
        assert spec.id in out
    assert "hold 5 s" in out


def test_cli_analyze_writes_everything_and_summarises(tmp_path: Path, capsys):
    clip = SHARED / "squat_side_bodyweight.mp4"
    if not clip.is_file():
        pytest.skip("../shared/videos is absent")
    from formcheck.cli import main

    out = tmp_path / "out"
    code = main(["analyze", str(clip), "--exercise", "squat", "--out", str(out), "--json", str(tmp_path / "r.json"),
                 "--no-video"])
    stdout = capsys.readouterr().out
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"result.json", "reps.csv", "report.html"}
    assert (tmp_path / "r.json").read_text() == (out / "result.json").read_text()
    doc = json.loads((out / "result.json").read_text())
    assert f"reps completed: {doc['rep_count']} / 10 prescribed" in " ".join(stdout.split())
    assert "form score" in stdout


def test_variable_frame_rate_keeps_the_source_timestamps(tmp_path: Path):
    clip = SHARED / "squat_side_bodyweight.mp4"
    if not clip.is_file():
        pytest.skip("../shared/videos is absent")
    import av

    from formcheck.report.video import H264Writer
    from formcheck.video import open_video

    kept = []
    src = tmp_path / "vfr.mp4"
    with open_video(clip, max_side=480) as r, H264Writer(src, r.size, r.fps, crf=28) as w:
        for f in r:
            if f.index % 3 == 1 or f.index % 7 == 3:  # irregular gaps: 40, 80 and 120 ms
                continue
            w.write(f.image_bgr, f.t)
            kept.append(f.t)
    r = analyze_video(src, "squat", options=AnalysisOptions(video_path=tmp_path / "annotated.mp4"))
    assert r.document.video.frames == len(kept)
    assert np.allclose(r.series.t, np.array(kept) - kept[0], atol=0.002)
    with av.open(str(tmp_path / "annotated.mp4")) as c:
        pts = [float(fr.pts * fr.time_base) for fr in c.decode(c.streams.video[0])]
    assert np.allclose(np.array(pts) - pts[0], np.array(kept) - kept[0], atol=0.002)
    # the one whole squat of the clip (1.3-3.5 s) is still found, at the right time
    assert any(rep.complete and 1.0 < rep.start_s < 1.8 and 3.0 < rep.end_s < 3.9 for rep in r.document.reps)
