"""Live coaching from a webcam (``formcheck live`` and the Streamlit live page).

Frames flow one way, newest first (older frames are dropped, never queued)::

    camera -> LatestSlot -> PoseEngine -> ExerciseRun (measures + tracker) -> LiveCoach -> overlay, voice
                                                                          \\-> sink (storage, incremental)

* :func:`run_live` — a whole session from a frame source (webcam, a file played as a camera).
* :class:`LiveCoach` — the session state machine: setup guidance, countdown, counting, cues, safety,
  program steps, pause/next/stop; every record handed to a ``sink`` as it happens.
* :class:`LiveRunner` / :class:`LatestSlot` — the latest-frame-wins capture/processing hand-off.
* :class:`CueScheduler` — rate-limited, priority-ordered cues; :mod:`.voice` speaks them (espeak-ng).
* :class:`SafetyMonitor` — pain ratings and the advice to stop and contact the clinician.
* :class:`SetupGuide` — whole body in view, camera view, distance, lighting; then a countdown.
* :class:`Program` — one exercise, a level of the reference program, or a therapist's program.
* :func:`formcheck.live.webrtc_page.render_live_page` — the Streamlit page (imported on demand).
"""

from formcheck.live.coach import LiveCoach, LiveOptions
from formcheck.live.cues import Cue, CueOptions, CuePriority, CueScheduler
from formcheck.live.handoff import LatestSlot
from formcheck.live.program import LEVELS, Program, ProgramStep
from formcheck.live.runner import CapturedFrame, LiveRunner, RunStats
from formcheck.live.safety import SafetyAdvice, SafetyMonitor, SafetyOptions, check_pain
from formcheck.live.session import LiveOutput, LivePipeline, LiveResult, run_live
from formcheck.live.setup import SetupGuide, SetupOptions, check_setup
from formcheck.live.sources import FileCamera, SyntheticSource, WebcamSource

__all__ = [
    "LEVELS",
    "CapturedFrame",
    "Cue",
    "CueOptions",
    "CuePriority",
    "CueScheduler",
    "FileCamera",
    "LatestSlot",
    "LiveCoach",
    "LiveOptions",
    "LiveOutput",
    "LivePipeline",
    "LiveResult",
    "LiveRunner",
    "Program",
    "ProgramStep",
    "RunStats",
    "SafetyAdvice",
    "SafetyMonitor",
    "SafetyOptions",
    "SetupGuide",
    "SetupOptions",
    "SyntheticSource",
    "WebcamSource",
    "check_pain",
    "check_setup",
    "run_live",
]
