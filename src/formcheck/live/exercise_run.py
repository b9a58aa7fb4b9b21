"""One exercise being coached live: pose frame -> measures -> the exercise engine's tracker -> live events.

This is the only module of :mod:`formcheck.live` that knows the exercise engine's API. It runs the
very same per-frame steps as the recorded analysis (:func:`formcheck.analysis.analyze_video`): the
same streaming measures (landmark space settled from the first frames), the same
:class:`~formcheck.exercises.ExerciseTracker` and the same
:class:`~formcheck.overlay.OverlayStateBuilder`, so live counts equal recorded counts for the same frames.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from formcheck.keypoints import PoseFrame


@dataclass(frozen=True)
class SpecInfo:
    """What the live session needs to know about an exercise (after overrides)."""

    id: str
    name: str
    view: str | None  # required camera view for the setup check: "side" | "front" | None (any)
    views: tuple[str, ...]
    setup_text: str
    reps_target: int | None  # complete reps for the whole step (x sets, x2 when per side on both sides)
    hold_target_s: float | None
    per_side: bool
    key_measure: str | None
    key_label: str | None
    unit: str
    target_min: float | None
    target_max: float | None
    gauge: tuple[float, float]
    space: str  # image | world | auto


@dataclass(frozen=True)
class LiveEvent:
    """A coaching-relevant event: kind is rep | hold_started | hold | fault | fault_cleared | cue | note."""

    kind: str
    t: float
    data: dict[str, Any] = field(default_factory=dict)
    message: str | None = None


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _reps_target(spec: Any, side: str | None) -> int | None:
    p = spec.prescription
    if not p.reps:
        return None
    n = int(p.reps) * int(p.sets or 1)
    if p.per_side and side is None and spec.sides in ("alternating", "each_side"):
        n *= 2
    return n


def _streaming_measures(names: list[str], space: str, visibility: float) -> Any:
    # The recorded analysis's per-frame measure step (landmark space settled on the first frames).
    from formcheck import analysis

    cls = getattr(analysis, "StreamingMeasures", None) or analysis._StreamingMeasures
    return cls(names, space, visibility)


def _gauge(lo: float | None, hi: float | None, unit: str) -> tuple[float, float]:
    from formcheck import analysis

    fn = getattr(analysis, "gauge_range", None) or analysis._gauge_range
    return tuple(fn(lo, hi, unit))  # type: ignore[return-value]


class ExerciseRun:
    """Tracks one exercise (one program step) from pose frames; ``update(pose, t) -> [LiveEvent]``."""

    def __init__(self, exercise: str, overrides: Mapping[str, Any] | None = None, side: str | None = None,
                 visibility: float | None = None) -> None:
        from formcheck.exercises import ExerciseTracker, apply_overrides, load_spec
        from formcheck.exercises.runner import view_measures
        from formcheck.measures import DEFAULT_VISIBILITY

        self.spec = apply_overrides(load_spec(exercise), dict(overrides or {}))  # with the overrides applied
        spec = self.spec
        if side is not None and spec.sides == "both":  # the tracker's own check, at once
            ExerciseTracker(spec, None, side)
        self._side_arg = side
        self.side = side or (spec.sides if spec.sides in ("left", "right") else None)
        self._setup_info()
        vis = DEFAULT_VISIBILITY if visibility is None else visibility
        self._measures = _streaming_measures(view_measures(spec, self.side), spec.camera.space, vis)
        self.tracker: Any = None
        # A spec with per-view blocks (by_view) is specialised once the camera view has settled on the first
        # frames with a person, as the recorded analysis does: the frames until then are replayed through
        # the specialised tracker, so live counts equal recorded counts.
        self._held: list[tuple[dict[str, float], float]] = []
        if not spec.by_view:
            self._start(None)
        self.state: Any = None  # OverlayState of the last frame
        self.measures: dict[str, float] = {}  # measures of the last frame
        self.key_value = float("nan")
        self.frames = 0
        self._t: float | None = None
        self._faults: dict[str, tuple[str, str]] = {}

    def _setup_info(self) -> None:
        from formcheck.exercises.conditions import resolve
        from formcheck.overlay import OverlayStateBuilder

        spec = self.spec
        key_name = resolve(spec.rep.measure, self.side)
        km = spec.key_measure()
        lo, hi = _clean(km.get("target_min")), _clean(km.get("target_max"))
        unit = str(km.get("unit") or "deg")
        views = tuple(spec.camera.views)
        gauge = _gauge(lo, hi, unit)
        self.info = SpecInfo(
            id=spec.id, name=spec.name,
            view=views[0] if len(views) == 1 and views[0] in ("side", "front") else None,
            views=views, setup_text=spec.camera.setup, reps_target=_reps_target(spec, self.side),
            hold_target_s=float(spec.prescription.hold_s) if spec.prescription.hold_s else None,
            per_side=bool(spec.prescription.per_side), key_measure=key_name,
            key_label=key_name.replace("_", " "), unit=unit, target_min=lo, target_max=hi, gauge=gauge,
            space=spec.camera.space,
        )
        self._builder = OverlayStateBuilder(
            title=spec.name + (f" ({self.side})" if self.side else ""), measure_name=key_name, unit=unit,
            target_min=lo, target_max=hi, gauge_min=gauge[0], gauge_max=gauge[1],
            reps_target=spec.prescription.reps, hold_target_s=spec.prescription.hold_s)

    def _start(self, view: str | None) -> list[Any]:
        """Build the tracker for ``view`` (the spec specialised for it) and replay the held frames; returns
        their events."""
        from formcheck.exercises import ExerciseTracker

        specialised = self.spec.for_view(view)
        if specialised is not self.spec:
            self.spec = specialised
            self._setup_info()
        self.tracker = ExerciseTracker(self.spec, None, self._side_arg)
        out: list[Any] = []
        for m, t in self._held:
            events = self.tracker.update(m, t)
            self.state = self._builder.update(events, t, float(m.get(self.info.key_measure or "", float("nan"))))
            out += events
        self._held.clear()
        return out

    @property
    def view(self) -> str | None:
        """The camera view the exercise is tracked for (settled on the first frames), None before."""
        return self._measures.view

    # -- per frame ----------------------------------------------------------------------------------
    def update(self, pose: PoseFrame, t: float) -> list[LiveEvent]:
        if self._t is not None and t <= self._t:
            return []  # a repeated/out-of-order timestamp: skipped (the tracker needs increasing time)
        self._t = t
        self.frames += 1
        m = self._measures(pose)
        self.measures = m
        if self.tracker is None:
            self._held.append((m, t))
            if self._measures.view is None:
                self.key_value = float(m.get(self.info.key_measure or "", float("nan")))
                return []
            events = self._start(self._measures.view)  # this frame is the last one replayed
            self.key_value = float(m.get(self.info.key_measure or "", float("nan")))
            return [ev for e in events if (ev := self._convert(e)) is not None]
        events = self.tracker.update(m, t)
        self.key_value = float(m.get(self.info.key_measure or "", float("nan")))
        self.state = self._builder.update(events, t, self.key_value)
        return [ev for e in events if (ev := self._convert(e)) is not None]

    def _ensure_started(self) -> None:
        if self.tracker is None:  # the run ends before the view settled: the view seen so far
            for e in self._start(self._measures.view_so_far()):
                self._convert(e)

    def _convert(self, e: Any) -> LiveEvent | None:
        kind = str(e.kind)
        data = {k: _clean(v) for k, v in dict(e.data or {}).items()}
        if e.side is not None:
            data.setdefault("side", e.side)
        msg, t = e.message, float(e.t)
        if kind == "rep_completed":
            data["count"] = self.tracker.rep_count
            data["complete"] = True
            return LiveEvent("rep", t, data, msg)
        if kind == "rep_incomplete":
            data["complete"] = False
            return LiveEvent("rep", t, data, msg)
        if kind == "hold_started":
            return LiveEvent("hold_started", t, data, msg)
        if kind == "hold_completed":
            return LiveEvent("hold", t, {**data, "completed": True}, msg)
        if kind == "hold_broken":
            return LiveEvent("hold", t, {**data, "completed": False}, msg)
        if kind == "fault_raised":
            fid = str(data.get("id") or "fault")
            sev = str(data.get("severity") or "warning")
            self._faults[fid] = (sev, msg or fid.replace("_", " "))
            return LiveEvent("fault", t, {**data, "id": fid, "severity": sev}, msg)
        if kind == "fault_cleared":
            fid = str(data.get("id") or "fault")
            self._faults.pop(fid, None)
            return LiveEvent("fault_cleared", t, {**data, "id": fid}, msg)
        if kind == "cue":
            return LiveEvent("cue", t, data, msg)
        if kind == "wrong_view":
            return LiveEvent("note", t, {**data, "code": kind}, msg)
        return None  # rep_started, hold progress/pause/resume/end, (not_)visible: shown, not coached

    # -- views --------------------------------------------------------------------------------------
    @property
    def rep_count(self) -> int:
        return 0 if self.tracker is None else self.tracker.rep_count

    def hold_elapsed(self, t: float) -> float | None:
        """Seconds held in the hold in progress (pauses excluded), None when not holding."""
        return None if self.state is None else self.state.hold_elapsed_s

    def active_faults(self) -> list[tuple[str, str]]:
        """(severity, message) of the faults happening now."""
        return list(self._faults.values())

    @property
    def target_reached(self) -> bool:
        return bool(self.info.reps_target) and self.rep_count >= (self.info.reps_target or 0)

    def result(self) -> Any:
        self._ensure_started()
        return self.tracker.result()

    def result_dict(self) -> dict:
        d = self.result().to_dict(events=False)
        d["reps_target"] = self.info.reps_target
        d["hold_target_s"] = self.info.hold_target_s
        return d
