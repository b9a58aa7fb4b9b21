"""Putting it together: frame -> pose -> coach -> overlay, driven by the latest-frame-wins runner.

``run_live`` is what ``formcheck live`` and the tests call; the Streamlit page uses
:class:`LivePipeline` directly from streamlit-webrtc's frame callback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from formcheck.keypoints import PoseFrame
from formcheck.live.coach import LiveCoach, LiveOptions, Sink
from formcheck.live.cues import Cue
from formcheck.live.program import Program
from formcheck.live.runner import CapturedFrame, LiveRunner, RunStats
from formcheck.live.setup import frame_brightness
from formcheck.live.voice import SilentVoice, Voice

log = logging.getLogger(__name__)


@dataclass
class LiveOutput:
    """What one processed frame produced: the annotated image (None when not rendering), the pose,
    the cues to say now, the session time."""

    image: np.ndarray | None
    pose: PoseFrame
    cues: list[Cue]
    t: float


def live_pose_options(program: Any) -> Any:
    """Pose options for a live program: the back contour (segmentation head, ~+10 ms per frame) is
    computed only when one of its exercises reads the ``lumbar_curve`` measure."""
    from formcheck.analysis import pose_options_for
    from formcheck.exercises import load_spec
    from formcheck.pose import PoseOptions

    opts = PoseOptions()
    for step in program.steps:
        opts = pose_options_for(load_spec(step.exercise), opts)
    return opts


class LivePipeline:
    """Pose engine + coach + overlay for one frame at a time (not thread-safe: one caller thread)."""

    def __init__(self, coach: LiveCoach, engine: Any | None = None, voice: Voice | None = None,
                 render: bool = True) -> None:
        if engine is None:
            from formcheck.pose import PoseEngine

            engine = PoseEngine(live_pose_options(coach.program))
        self.engine = engine
        self.coach = coach
        self.voice = voice or SilentVoice()
        self.render = render
        self.pose_s: list[float] = []

    def process(self, frame: CapturedFrame) -> LiveOutput:
        tic = time.perf_counter()
        pose = self.engine.update(frame.image, frame.t)
        self.pose_s.append(time.perf_counter() - tic)
        cues = self.coach.update(pose, frame.t, frame_brightness(frame.image))
        for cue in cues:
            self.voice.say(cue)
        image = None
        if self.render:
            from formcheck.overlay import draw_overlay

            image = draw_overlay(frame.image, pose, self.coach.overlay_state(frame.t))
        return LiveOutput(image, pose, cues, frame.t)


@dataclass
class LiveResult:
    summary: dict
    stats: RunStats
    records: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {**self.summary, "run": self.stats.to_dict()}


def run_live(source: Iterable[CapturedFrame], program: Program, options: LiveOptions | None = None, *,
             engine: Any | None = None, voice: Voice | None = None, sink: Sink | None = None,
             drop: bool = True, render: bool = True, pain_before: int | None = None,
             on_output: Callable[[LiveOutput, LiveCoach], bool | None] | None = None,
             camera_timeout_s: float = 3.0, coach: LiveCoach | None = None,
             pain_after: int | Callable[[], int | None] | None = None) -> LiveResult:
    """Coach a session from ``source`` until it ends, the program is done or ``on_output`` returns False.

    The session is closed whatever happens (camera lost, Ctrl-C): its summary and records keep
    everything up to that moment. ``pain_after`` (a rating, or a callable asking for it once the
    video has stopped) is recorded before the session is closed.
    """
    coach = coach or LiveCoach(program, options, sink)
    pipeline = LivePipeline(coach, engine, voice, render)
    coach.start(0.0, pain_before)
    runner = LiveRunner(source, pipeline.process, drop=drop, camera_timeout_s=camera_timeout_s)

    def handle(out: LiveOutput, frame: CapturedFrame) -> bool | None:
        if on_output is not None and on_output(out, coach) is False:
            return False
        return coach.phase != "done"

    reason = None
    try:
        stats = runner.run(handle)
        reason = {"end_of_stream": "end_of_video", "stopped": None}.get(stats.end_reason, stats.end_reason)
        if stats.end_reason in ("camera_lost", "camera_stalled"):
            coach.note(stats.end_reason, message=stats.error)
    except KeyboardInterrupt:  # Ctrl-C: end cleanly, keeping the session
        reason = "interrupted"
        stats = runner.stats
        stats.end_reason = "interrupted"
    finally:
        if coach.phase != "done" or coach.end_reason is None:
            coach.stop(coach.last_t, reason or "stopped")
        pipeline.voice.close()
    after = pain_after() if callable(pain_after) else pain_after
    summary = coach.finish(pain_after=after)
    summary["run"] = stats.to_dict()
    return LiveResult(summary, stats, coach.records)
