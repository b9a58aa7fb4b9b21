"""The Streamlit live page: the browser's webcam through WebRTC (streamlit-webrtc), same engine as the CLI.

Thin page over the library: :class:`BrowserSession` (pose engine + :class:`LiveCoach` + overlay) is
kept in ``st.session_state``; streamlit-webrtc calls it from its own thread with the newest frames
(older ones are dropped, never queued), and it hands a small snapshot of the session (counts, cue,
status) back to the page through a bounded queue. Cues are spoken by the browser (Web Speech API).
Nothing leaves the computer: ``rtc_configuration={"iceServers": []}`` (no STUN/TURN lookups).

``render_live_page()`` is wired into the app's navigation by the storage/dashboard engineer; pass
``sink_factory`` to save the session incrementally.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from formcheck.live.coach import LiveCoach, LiveOptions, Sink
from formcheck.live.program import Program
from formcheck.live.runner import CapturedFrame
from formcheck.live.session import LivePipeline

log = logging.getLogger(__name__)

RTC_CONFIGURATION: dict[str, Any] = {"iceServers": []}  # local only: never ask the internet for STUN/TURN


class BrowserSession:
    """One browser live session: called from the webcam thread, read from the page thread."""

    def __init__(self, program: Program, options: LiveOptions | None = None, sink: Sink | None = None,
                 engine_factory: Callable[[], Any] | None = None, pain_before: int | None = None) -> None:
        self.program = program
        self.coach = LiveCoach(program, options, sink)
        self._engine_factory = engine_factory
        self._pipeline: LivePipeline | None = None
        self._lock = threading.Lock()
        self.updates: queue.Queue[dict] = queue.Queue(maxsize=32)
        self.pain_before = pain_before
        self.frames_received = 0
        self.frames_processed = 0
        self.frames_dropped = 0
        self.latencies_s: list[float] = []
        self._t0: float | None = None
        self.summary: dict | None = None

    # called by streamlit-webrtc's worker thread with every frame that arrived since the last call
    def on_frames(self, frames: list) -> list:
        import av

        now = time.perf_counter()
        self.frames_received += len(frames)
        self.frames_dropped += len(frames) - 1  # only the newest frame is processed
        frame = frames[-1]
        img = frame.to_ndarray(format="bgr24")
        with self._lock:
            if self._t0 is None:
                self._t0 = now
                self.coach.start(0.0, self.pain_before)
            if self._pipeline is None:
                engine = self._engine_factory() if self._engine_factory else None
                self._pipeline = LivePipeline(self.coach, engine, render=True)
            t = now - self._t0
            out = self._pipeline.process(CapturedFrame(img, t, self.frames_received, now))
            self.frames_processed += 1
            self.latencies_s.append(time.perf_counter() - now)
            snap = self._snapshot(t, [c.text for c in out.cues if c.speak])
        self._publish(snap)
        result = av.VideoFrame.from_ndarray(out.image if out.image is not None else img, format="bgr24")
        result.pts, result.time_base = frame.pts, frame.time_base
        return [result]

    async def on_frames_async(self, frames: list) -> list:
        """streamlit-webrtc's ``queued_video_frames_callback`` (it must be a coroutine function); runs in
        the webcam worker thread's own event loop."""
        return self.on_frames(frames)

    def _snapshot(self, t: float, say: list[str]) -> dict:
        run = self.coach.exercise
        info = run.info if run is not None else None
        return {
            "t": t, "phase": self.coach.phase,
            "exercise": info.name if info else None,
            "rep_count": run.rep_count if run is not None else 0,
            "reps_target": info.reps_target if info else None,
            "hold_elapsed_s": run.hold_elapsed(t) if run is not None else None,
            "hold_target_s": info.hold_target_s if info else None,
            "status": self.coach.status_text(t),
            "cue": self.coach.cues.current.text if self.coach.cues.current else None,
            "say": say,
            "advice": self.coach.advice.message if self.coach.advice else None,
            "frames": self.frames_processed,
            "dropped": self.frames_dropped,
        }

    def _publish(self, snap: dict) -> None:
        try:
            self.updates.put_nowait(snap)
        except queue.Full:  # the page is slow: drop the oldest snapshot, keep the newest
            try:
                self.updates.get_nowait()
            except queue.Empty:
                pass
            self.updates.put_nowait(snap)

    # page-thread controls (thread-safe)
    def control(self, action: str, value: Any = None) -> Any:
        with self._lock:
            t = self.coach.last_t
            if action == "pause":
                self.coach.toggle_pause(t)
            elif action == "next":
                self.coach.next_exercise(t, "next")
            elif action == "pain":
                return self.coach.report_pain(value, t)
            elif action == "stop":
                self.coach.stop(t, "stopped")
            elif action == "finish":
                if self.summary is None or value is not None:
                    self.summary = self.coach.finish(t, pain_after=value)
                    n = len(self.latencies_s)
                    lat = np.asarray(self.latencies_s) * 1000 if n else np.array([np.nan])
                    self.summary["run"] = {"processed": self.frames_processed, "dropped": self.frames_dropped,
                                           "latency_p50_ms": float(np.percentile(lat, 50)),
                                           "latency_p95_ms": float(np.percentile(lat, 95))}
                return self.summary
            return None


def _speak_html(texts: list[str], nonce: int) -> str:
    """A tiny HTML snippet that speaks ``texts`` with the browser's Web Speech API (no network)."""
    payload = json.dumps(texts).replace("<", "\\u003c")  # no "</script>" can end the snippet early
    return (f"<script>/* {nonce} */ const s = window.speechSynthesis || window.parent.speechSynthesis;"
            f"if (s) {{ s.cancel(); for (const t of {payload}) {{ s.speak(new SpeechSynthesisUtterance(t)); }} }}"
            "</script>")


def _exercise_choices() -> dict[str, str]:
    from formcheck.errors import FormcheckError
    from formcheck.exercises import list_specs

    try:
        return {s.id: s.name for s in list_specs()}
    except FormcheckError as exc:  # shown on the page: the spec library cannot be read
        log.warning("cannot list exercises: %s", exc)
        return {}


def render_live_page(default_exercise: str | None = None, *, sink_factory: Callable[[dict], Sink] | None = None,
                     engine_factory: Callable[[], Any] | None = None, options: LiveOptions | None = None,
                     setup_default: bool = True, key: str = "formcheck-live") -> None:
    """Render the live coaching page (call inside a Streamlit script or multipage navigation).

    ``sink_factory(context)`` returns the callable that stores the session's records as they happen;
    ``context`` holds the exercise/program and pain rating chosen on the page.
    """
    import streamlit as st
    import streamlit.components.v1 as components
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    st.header("Live coaching")
    st.caption("Your video stays on this computer. Stop at any time; if an exercise worsens your pain or causes "
               "new pain, stop.")
    ss = st.session_state
    choices = _exercise_choices()
    if not choices:
        st.error("No exercise specs found (exercises/specs).")
        return
    ids = list(choices)
    c1, c2, c3 = st.columns([3, 2, 2])
    mode = c1.radio("What to do", ["One exercise", "A level of the program"], horizontal=True, key=f"{key}-mode")
    if mode == "One exercise":
        idx = ids.index(default_exercise) if default_exercise in ids else 0
        exercise = c1.selectbox("Exercise", ids, index=idx, format_func=lambda i: choices[i], key=f"{key}-ex")
        program = Program.single(exercise)
    else:
        level = c1.selectbox("Level", ["beginning", "intermediate", "advanced", "core"], key=f"{key}-level")
        program = Program.level(level)
    pain_before = c2.number_input("Pain now (0-10)", 0, 10, value=None, step=1, key=f"{key}-pain-before",
                                  help="0 = no pain, 10 = worst imaginable")
    if pain_before is None:
        c2.caption("Please rate your pain before you start.")
    voice = c3.toggle("Voice cues", value=True, key=f"{key}-voice")
    guided = c3.toggle("Setup guidance", value=setup_default, key=f"{key}-setup")

    config = (program, bool(guided))
    bs: BrowserSession | None = ss.get(f"{key}-session")
    if bs is None or ss.get(f"{key}-config") != config or (bs.coach.phase == "done" and bs.summary is not None
                                                           and ss.get(f"{key}-new")):
        opts = options or LiveOptions(setup=bool(guided))
        if not guided and options is not None:
            from dataclasses import replace
            opts = replace(options, setup=False)
        ctx_info = {"program": program, "pain_before": pain_before}
        sink = sink_factory(ctx_info) if sink_factory else None
        bs = BrowserSession(program, opts, sink, engine_factory, pain_before)
        ss[f"{key}-session"], ss[f"{key}-config"], ss[f"{key}-new"] = bs, config, False
    if bs.frames_processed == 0:
        bs.pain_before = pain_before

    stop_col, pause_col, next_col = st.columns(3)
    stop = stop_col.button("Stop", type="primary", key=f"{key}-stop", use_container_width=True)
    if stop:
        bs.control("stop")
        ss[f"{key}-stopped"] = True
    if pause_col.button("Pause / resume", key=f"{key}-pause", use_container_width=True):
        bs.control("pause")
    if next_col.button("Next exercise", key=f"{key}-next", use_container_width=True):
        bs.control("next")

    ctx = webrtc_streamer(
        key=key, mode=WebRtcMode.SENDRECV, rtc_configuration=RTC_CONFIGURATION,
        media_stream_constraints={"video": {"width": 1280, "height": 720}, "audio": False},
        queued_video_frames_callback=bs.on_frames_async, async_processing=True,
        desired_playing_state=False if ss.get(f"{key}-stopped") else None,
    )

    counts = st.empty()
    status = st.empty()
    cue_box = st.empty()
    advice_box = st.empty()
    frames_box = st.empty()
    speak_box = st.empty()
    pain_col1, pain_col2 = st.columns([3, 1])
    pain_now = pain_col1.number_input("Pain during the exercise (0-10)", 0, 10, value=None, step=1,
                                      key=f"{key}-pain-now")
    if pain_col2.button("Report pain", key=f"{key}-pain-btn") and pain_now is not None:
        adv = bs.control("pain", int(pain_now))
        if adv is not None:
            st.error(adv.message)

    def show(snap: dict) -> None:
        target = snap.get("reps_target")
        counts.markdown(f"### Reps: {snap['rep_count']}" + (f" / {target}" if target else ""))
        el, ht = snap.get("hold_elapsed_s"), snap.get("hold_target_s")
        hold = f" · hold {max(0.0, ht - el):.0f} s left" if el is not None and ht else ""
        status.markdown(f"**{snap.get('exercise') or ''}** — {snap.get('status') or snap['phase']}{hold}")
        cue_box.info(snap["cue"]) if snap.get("cue") else cue_box.empty()
        if snap.get("advice"):
            advice_box.error(snap["advice"])
        frames_box.caption(f"Frames processed: {snap['frames']} (dropped {snap['dropped']})")

    if ctx.state.playing:
        nonce = 0
        while ctx.state.playing:
            try:
                snap = bs.updates.get(timeout=1.0)
            except queue.Empty:
                continue
            while not bs.updates.empty():  # catch up: only the newest state is shown, cues are all said
                nxt = bs.updates.get_nowait()
                nxt["say"] = snap["say"] + nxt["say"]
                snap = nxt
            show(snap)
            if voice and snap["say"]:
                nonce += 1
                with speak_box:
                    if hasattr(st, "iframe"):
                        st.iframe(_speak_html(snap["say"], nonce), height=1)
                    else:  # streamlit < 1.52
                        components.html(_speak_html(snap["say"], nonce), height=0)
    elif bs.frames_processed:
        # the camera stopped: the session is kept; ask the pain rating after, then close it
        st.subheader("Session finished")
        pain_after = st.number_input("Pain now, after the exercise (0-10)", 0, 10, value=None, step=1,
                                     key=f"{key}-pain-after")
        if st.button("Save and finish", key=f"{key}-finish"):
            summary = bs.control("finish", int(pain_after) if pain_after is not None else None)
            for adv in summary["safety"]["advice"]:
                st.error(adv["message"])
            for ex in summary["exercises"]:
                res = ex.get("result") or {}
                st.write(f"{ex['exercise']}: {res.get('rep_count', 0)} reps, "
                         f"form score {res.get('form_score') if res.get('form_score') is not None else '-'}")
            ss[f"{key}-new"] = True
            ss[f"{key}-stopped"] = False
        else:
            snap = bs._snapshot(bs.coach.last_t, [])
            show(snap)
    else:
        st.write("Press **START** and allow the camera. Stand so that your whole body is visible.")
