"""The live loop on real video through a file-backed camera: the same counts as the recorded analysis,
and a camera lost mid-stream keeps the partial session (recorded incrementally)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from formcheck.errors import VideoError
from formcheck.live.coach import LiveOptions
from formcheck.live.program import Program
from formcheck.live.session import run_live
from formcheck.live.sources import FileCamera

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "videos"
SHARED = (REPO / ".." / "shared" / "videos").resolve()


# Rendered fixtures with exact ground truth, in order of preference (reps with holds first).
PREFERRED = ("wall_squat__correct__side", "ankle_pumps__correct__side", "heel_slides__correct__side")


def _pick_video() -> tuple[Path, str]:
    """A rendered fixture with reps (exact ground truth) when there is one, else a real clip."""
    for stem in PREFERRED:
        mp4, meta = FIXTURES / f"{stem}.mp4", FIXTURES / f"{stem}.json"
        if mp4.is_file() and meta.is_file():
            return mp4, json.loads(meta.read_text())["exercise"]
    clip = SHARED / "squat_side_bodyweight.mp4"
    if clip.is_file():
        return clip, "squat"
    pytest.skip("no fixture video with reps and no ../shared/videos clip")


@functools.lru_cache(maxsize=4)
def _analysis(video: Path, exercise: str, frames: int | None = None):
    """The recorded analysis of the video (of its first ``frames`` frames, as if the file ended there)."""
    from formcheck.analysis import AnalysisOptions, analyze_video

    source = video if frames is None else _CutReader(video, frames)
    # every frame through the pose model, as the live loop does when it keeps up
    return analyze_video(source, exercise, options=AnalysisOptions(pose_rate=None, thumbnails=0))


class _CutReader:
    """The first ``n`` frames of a video, then the stream ends as a broken file does (truncated)."""

    def __init__(self, path: Path, n: int) -> None:
        from formcheck.video import open_video

        self._r = open_video(path)
        self.n, self.path = n, path
        self.fps, self.size, self.rotation = self._r.fps, self._r.size, 0
        self.frame_count, self.truncated, self.error = n, True, "cut"
        self.decode_s = 0.0

    def __iter__(self):
        for vf, _ in zip(self._r, range(self.n)):
            yield vf

    def close(self) -> None:
        self._r.close()


class _UnpluggedCamera:
    """A file played as a camera that is unplugged after ``n`` frames (the read fails)."""

    def __init__(self, path: Path, n: int) -> None:
        self.cam, self.n = FileCamera(path, realtime=False), n

    def __iter__(self):
        for frame, _ in zip(self.cam, range(self.n)):
            yield frame
        raise VideoError("camera 0 stopped delivering frames")


def _frame_count(video: Path) -> int:
    from formcheck.video import open_video

    with open_video(video) as r:
        return sum(1 for _ in r)


def _reps(reps: list[dict]) -> list[tuple]:
    return [(round(r["start_s"], 3), round(r["end_s"], 3), r["complete"]) for r in reps]


def _live(video: Path, exercise: str, sink=None, render: bool = True):
    return run_live(FileCamera(video, realtime=False), Program.single(exercise), LiveOptions(setup=False),
                    drop=False, render=render, sink=sink)


def test_live_counts_and_holds_match_recorded_analysis():
    video, exercise = _pick_video()
    live = _live(video, exercise)
    rec = _analysis(video, exercise).document.model_dump()
    got = live.summary["exercises"][0]["result"]
    assert live.stats.end_reason == "end_of_stream" and live.stats.dropped == 0
    assert got["rep_count"] == rec["rep_count"] and rec["rep_count"] >= 1
    assert _reps(got["reps"]) == _reps(rec["reps"])
    assert [(round(h["duration_s"], 3), h["completed"]) for h in got["holds"]] == \
        [(round(h["duration_s"], 3), h["completed"]) for h in rec["holds"]]
    assert [f["id"] for f in got["faults"]] == [f["id"] for f in rec["faults"]]
    # what the patient heard: the counts, in order
    counts = [c["text"].split(".")[0] for c in live.summary["cues_said"] if c["key"] == "count"]
    assert counts == [str(i) for i in range(1, rec["rep_count"] + 1)]


def test_camera_lost_mid_stream_keeps_partial_session():
    video, exercise = _pick_video()
    n = int(_frame_count(video) * 0.7)  # the camera dies 70% of the way through
    records: list[dict] = []
    live = run_live(_UnpluggedCamera(video, n), Program.single(exercise), LiveOptions(setup=False), drop=False,
                    render=False, sink=records.append)
    assert live.stats.end_reason == "camera_lost" and live.stats.processed == n
    assert live.summary["end_reason"] == "camera_lost"
    rec = _analysis(video, exercise, n).document.model_dump()
    assert rec["partial"] is True
    got = live.summary["exercises"][0]["result"]
    assert got["rep_count"] == rec["rep_count"]
    assert _reps(got["reps"]) == _reps(rec["reps"])
    # the sink had each rep as it ended (a rep still in progress at the cut is in the final result),
    # and the session was closed cleanly at the end
    rep_records = [r["index"] for r in records if r["type"] == "rep"]
    assert rep_records and rep_records == list(range(1, len(rep_records) + 1))
    assert len(rep_records) >= len(rec["reps"]) - 1
    assert [r["type"] for r in records][-2:] == ["exercise_end", "session_end"]
    assert records[-2]["result"] == got
    assert any(r["type"] == "note" and r["code"] == "camera_lost" for r in records)


def test_missing_video_is_a_clear_error(tmp_path):
    with pytest.raises(VideoError, match="no such video"):
        FileCamera(tmp_path / "nope.mp4")


def test_program_moves_to_the_next_exercise_when_the_prescription_is_met():
    from formcheck.live.program import ProgramStep

    video, exercise = _pick_video()
    rec = _analysis(video, exercise).document.model_dump()
    assert rec["rep_count"] >= 1
    n = 1  # a prescription of one rep, met by the clip's first complete rep
    first_end = next(r["end_s"] for r in rec["reps"] if r["complete"])
    program = Program((ProgramStep(exercise, overrides={"reps": n}, rest_s=2), ProgramStep("wall_squat")))
    live = run_live(FileCamera(video, realtime=False), program, LiveOptions(setup=False), drop=False, render=False)
    steps = live.summary["exercises"]
    assert [(s["exercise"], s["end_reason"]) for s in steps] == [(exercise, "target_reached"),
                                                                 ("wall_squat", "end_of_video")]
    assert steps[0]["result"]["rep_count"] == n
    assert steps[1]["started_t"] >= first_end + 2 - 1e-6  # after the rest
    said = [c["text"] for c in live.summary["cues_said"]]
    assert f"{n}. Well done, that's all {n}." in said and "Rest for 2 seconds." in said


def test_interrupted_live_session_is_saved_incrementally_to_the_database(tmp_path):
    """The storage sink gets the records as they happen: a camera lost mid-session leaves an
    interrupted session in the (real, SQLite) database with the reps, samples and pain rating so far."""
    from formcheck.storage import create_patient, create_user, init_db, principal_for_user
    from formcheck.storage.live_sink import LiveSink
    from formcheck.storage.repo import get_session, pain_history

    video, exercise = _pick_video()
    engine = init_db(tmp_path / "fc.db")
    therapist = principal_for_user(engine, create_user(engine, "thera", "a-long-password-1", "therapist"))
    patient = create_patient(engine, therapist, "Pat")
    sink = LiveSink(engine, therapist, patient)
    n = int(_frame_count(video) * 0.7)
    live = run_live(_UnpluggedCamera(video, n), Program.single(exercise), LiveOptions(setup=False),
                    drop=False, render=False, sink=sink, pain_before=2)
    assert live.summary["end_reason"] == "camera_lost"
    (sid,) = sink.session_ids
    stored = get_session(engine, therapist, sid)
    assert stored.session["status"] == "interrupted"
    got = live.summary["exercises"][0]["result"]
    assert [(round(r["start_s"], 2), r["complete"]) for r in stored.reps] == \
        [(round(r["start_s"], 2), r["complete"]) for r in got["reps"]]
    assert len(stored.samples_t) >= 2  # measure samples were written as the session went
    assert [p["score"] for p in pain_history(engine, therapist, patient)] == [2]


@pytest.mark.slow
def test_realtime_camera_with_dropped_frames_counts_like_the_recording():
    """At real speed the CPU may not keep up: frames are dropped, and the count still matches."""
    video, exercise = _pick_video()
    live = run_live(FileCamera(video, realtime=True), Program.single(exercise), LiveOptions(setup=False),
                    drop=True, render=True)
    from formcheck.analysis import analyze_video

    rec = analyze_video(video, exercise).document
    assert live.summary["exercises"][0]["result"]["rep_count"] == rec.rep_count
    print(f"\nrealtime: processed {live.stats.processed}/{live.stats.captured} frames, "
          f"p95 latency {live.stats.latency_ms(95):.0f} ms")
