"""The exercise state machine: ``update(measures, t) -> events`` in O(1) per frame.

One machine serves live coaching and recorded video (:func:`formcheck.exercises.run_exercise`
feeds it a sequence frame by frame). What it does each frame:

1. **Phases with hysteresis and dwell.** At rest, the movement phase is entered when the spec's
   ``enter`` condition has held for ``min_dwell_s``; it is left when ``exit`` has held as long. The
   rep starts at the first frame of the enter run and ends at the first frame of the exit run.
   Jitter around one threshold cannot count twice (the other threshold must be crossed), a spike
   shorter than the dwell changes nothing, and a movement that never reaches the target (a half
   rep) is reported as ``rep_incomplete``, never counted.
2. **Posture-gated holds.** In the movement phase the hold timer runs only while the rep measure is
   in the target band and the ``posture`` condition holds. Leaving the posture pauses the timer
   (``hold_paused``); coming back within ``max_pause_s`` resumes it; staying out longer, or the
   ``break`` condition, breaks the hold. A rep that needed a hold and did not get it is incomplete.
   "Still" (``max_rate``) can be made "arrived": a fraction of the movement's own peak speed
   (``settle_fraction``), read through a 3-frame median (``despike``); the hold then ends where the
   measure left its held value (``plateau_band``), not where it began to move fast (exercises/README.md).
   A landmark glitch is unknown to the hold, not a value (``reject_jumps``): while the timer runs, a
   jump of the rep measure away from its recent held value is bridged like lost tracking and left out
   of the still rate; one that lasts ``ignore_lapse_s`` was a real movement, out of posture from its
   first frame. Only the hold's tests see this; counting, peaks and faults read the raw value.
   App-paced holds (``hold.pacing``, for an effort a camera cannot see): the rep starts at the app's
   "tighten" cue once in position, ends when its hold is done or broken ("relax"), and the next one
   starts after ``relax_s`` in position.
3. **Lost tracking.** A hidden measure makes a condition *unknown*, and unknown never changes state:
   a few frames without landmarks neither count, nor break a hold (the time is bridged when the
   posture is still held afterwards). Only after ``lost_grace_s`` is ``not_visible`` reported, the
   hold broken and the rep in progress marked incomplete.
4. **Sides.** ``alternating`` / ``each_side`` exercises watch both sides at rest; the side that
   enters the movement first is followed until the rep ends.
5. **Faults and cues** with their own minimum durations, phase and view scopes.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from formcheck.errors import OptionsError
from formcheck.exercises.conditions import CHANGE_PREFIX, Tri, compile_condition, resolve
from formcheck.exercises.results import (
    Event,
    EventKind,
    ExerciseResult,
    FaultResult,
    HoldResult,
    RepResult,
    group_sets,
    rep_score,
    sets_score,
)
from formcheck.exercises.spec import ExerciseSpec, Overrides, apply_overrides, load_spec
from formcheck.measures import view_from_ratio

log = logging.getLogger(__name__)

Values = Mapping[str, float]
CHANGE_LEAD_S = 0.5  # `change` conditions compare with the value this long before the movement began
PLATEAU_TAU_S = 0.5  # running mean of the held value (hold.plateau_band)
PLATEAU_TRIM_MAX_S = 0.5  # a longer tail out of the band is a (different) held posture, not the way out
SPEED_ENVELOPE_TAU_S = 3.0  # decay of the rep measure's peak-speed envelope (hold.settle_fraction)
HARMFUL_REPEAT = 2  # a harmful fault this many times is a repeated harmful posture (live.safety's default)
STILL_PREFIX = "still:"  # rates of the despiked rep measure (hold.despike), in the rates mapping
JUMP_REF_FRAMES = 5  # hold.reject_jumps: a glitch is judged against the median of this many accepted values
_NAN = float("nan")


@dataclass(frozen=True)
class TrackerOptions:
    """Timing options of the tracker (validated at construction)."""

    lost_grace_s: float = 1.0  # hidden this long -> not_visible, hold broken, rep interrupted
    rate_tau_s: float = 0.08  # smoothing time constant of rate (velocity) conditions
    view_tau_s: float = 1.0  # smoothing of the camera-view estimate
    wrong_view_after_s: float = 2.0  # wrong view/setup this long -> wrong_view

    def __post_init__(self) -> None:
        for name in ("lost_grace_s", "rate_tau_s", "view_tau_s", "wrong_view_after_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise OptionsError(name, "a number of seconds >= 0", v)


@dataclass
class _Compiled:
    enter: Callable[[Values, Values], Tri]
    exit: Callable[[Values, Values], Tri]
    in_posture: Callable[..., Tri] | None  # (values, rates, rate_limit=None)
    hold_break: Callable[[Values, Values], Tri] | None
    faults: list[tuple[Callable[[Values, Values], Tri], Callable[[Values, Values], Tri] | None]]
    cues: list[Callable[[Values, Values], Tri] | None]
    check: Callable[[Values, Values], Tri] | None
    rep_measure: str


@dataclass
class _Pending:
    since: float
    peak: float = _NAN
    t_peak: float = _NAN


@dataclass
class _Hold:
    start_s: float
    acc: float = 0.0
    paused_since: float | None = None  # first frame out of posture
    pause_reported: bool = False  # the lapse outlasted hold.ignore_lapse_s: a real pause
    last_true_t: float = _NAN
    completed: bool = False
    progress: int = 0
    rate_limit: float | None = None  # the still-limit frozen at the start (hold.settle_fraction)
    plateau: float = _NAN  # running mean of the rep measure while held (hold.plateau_band)
    in_band_t: float = _NAN  # last held frame within plateau_band of it
    in_band_acc: float = 0.0  # acc at that frame
    plateau_t: float = _NAN  # time of the last plateau update
    ref: deque[float] = field(default_factory=lambda: deque(maxlen=JUMP_REF_FRAMES))  # accepted values (reject_jumps)
    reject_since: float | None = None  # first frame of the current run of rejected glitch frames
    prev_v: float = _NAN  # the rep measure's previous value (reject_jumps: a glitch starts with a jump)


@dataclass
class _Rep:
    side: str | None
    start_s: float
    rest_value: float
    peak: float
    t_peak: float
    exit_since: float | None = None
    interrupted: bool = False
    faults: set[str] = field(default_factory=set)
    best_hold: float = 0.0
    hold_done: bool = False


@dataclass
class _FaultState:
    since: float | None = None
    active: bool = False
    start_s: float = _NAN
    clear_since: float | None = None
    side: str | None = None


@dataclass
class _CueState:
    since: float | None = None
    last: float | None = None


def _and(a: Tri, b: Tri) -> Tri:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


class ExerciseTracker:
    """Streaming exercise engine for one spec (and optional per-patient overrides).

    ``side`` fixes the exercised side ("left"/"right"); by default sided exercises follow the side
    that moves. Feed :meth:`update` the frame's measures (a mapping name -> float, NaN or absent
    when hidden; :attr:`measure_names` lists what is read) in time order.
    """

    def __init__(self, spec: ExerciseSpec | str, overrides: Overrides | dict | None = None,
                 side: str | None = None, options: TrackerOptions | None = None) -> None:
        base = load_spec(spec) if isinstance(spec, str) else spec
        self.spec: ExerciseSpec = apply_overrides(base, overrides)
        if side not in (None, "left", "right"):
            raise OptionsError("side", "'left', 'right' or None", side)
        if side is not None and self.spec.sides == "both":
            raise OptionsError("side", f"None ({self.spec.id} works both sides together)", side)
        self.options = options or TrackerOptions()
        if side is None and self.spec.sides in ("left", "right"):
            side = self.spec.sides
        self.fixed_side = side
        self.follow_sides = side is None and self.spec.sides in ("alternating", "each_side")
        self._compiled: dict[str | None, _Compiled] = {}
        self.measure_names: list[str] = self.spec.concrete_measures(side)
        rated = {r for c in self._all_conditions() for r in c.rates()}
        if self.spec.hold is not None and self.spec.hold.max_rate is not None:
            rated.add(self.spec.rep.measure)
        sides_ = ["left", "right", None] if side is None else [side]
        self._rate_names = sorted({resolve(r, s) for r in rated for s in sides_
                                   if not ("{other}" in r and s is None)})
        self._change_names = sorted({resolve(m, s) for c in self._all_conditions() for m in c.changes()
                                     for s in sides_ if not ("{other}" in m and s is None)})
        lo, hi = self.spec.target_band()
        self._band = (lo, hi)
        self._hold_s = self.spec.prescription.hold_s
        hs = self.spec.hold
        self._settle: tuple[float, float, float] | None = None
        if hs is not None and hs.max_rate is not None and hs.settle_fraction is not None:
            self._settle = (hs.settle_fraction, min(hs.min_rate, hs.max_rate), hs.max_rate)
        self._despike = hs is not None and hs.max_rate is not None and hs.despike
        self._reject = hs.reject_jumps if hs is not None and self._hold_s is not None else None
        # the still test reads its own rate stream: despiked, and/or without the rejected glitch frames
        self._still = hs is not None and hs.max_rate is not None and (hs.despike or self._reject is not None)
        self._rejected: str | None = None  # the rep measure, when this frame's value is a glitch (reject_jumps)
        self._pacing = hs.pacing if hs is not None and self._hold_s is not None else None
        self._env_names = {resolve(self.spec.rep.measure, s) for s in sides_
                           if not ("{other}" in self.spec.rep.measure and s is None)}
        self.reset()

    # -- setup -----------------------------------------------------------------------------
    def _all_conditions(self):
        s = self.spec
        out = [s.phases[1].enter, s.phases[1].exit]
        if s.hold:
            out += [c for c in (s.hold.posture, s.hold.break_) if c]
        out += [f.when for f in s.faults] + [f.clear for f in s.faults if f.clear]
        out += [c.when for c in s.cues if c.when]
        if s.camera.check:
            out.append(s.camera.check)
        return [c for c in out if c is not None]

    def _c(self, side: str | None) -> _Compiled:
        c = self._compiled.get(side)
        if c is not None:
            return c
        s = self.spec
        rep_measure = resolve(s.rep.measure, side)
        in_posture = None
        if s.hold is not None and self._hold_s is not None:
            posture = compile_condition(s.hold.posture, side) if s.hold.posture else None
            lo, hi = self._band
            use_band = s.hold.in_target and (lo is not None or hi is not None)
            max_rate = s.hold.max_rate

            def in_posture(values: Values, rates: Values, rate_limit: float | None = None, _p=posture,
                           _m=rep_measure, _lo=lo, _hi=hi, _band=use_band, _rate=max_rate) -> Tri:
                if rate_limit is not None:
                    _rate = rate_limit
                r: Tri = True
                if _band:
                    v = values.get(_m, _NAN)
                    if v is None or not math.isfinite(v):
                        r = None
                    else:
                        r = (_lo is None or v >= _lo) and (_hi is None or v <= _hi)
                if _rate is not None and r is not False:
                    dv = rates.get(STILL_PREFIX + _m, rates.get(_m, _NAN))
                    r = _and(r, None if dv is None or not math.isfinite(dv) else abs(dv) < _rate)
                if _p is not None and r is not False:
                    r = _and(r, _p(values, rates))
                return r
        c = _Compiled(
            enter=compile_condition(s.phases[1].enter, side),  # type: ignore[arg-type]
            exit=compile_condition(s.phases[1].exit, side),  # type: ignore[arg-type]
            in_posture=in_posture,
            hold_break=compile_condition(s.hold.break_, side) if s.hold and s.hold.break_ else None,
            faults=[(compile_condition(f.when, side), compile_condition(f.clear, side) if f.clear else None)
                    for f in s.faults],
            cues=[compile_condition(q.when, side) if q.when else None for q in s.cues],
            check=compile_condition(s.camera.check, side) if s.camera.check else None,
            rep_measure=rep_measure,
        )
        self._compiled[side] = c
        return c

    def reset(self) -> None:
        """Forget everything (a new set or a new patient)."""
        self.phase: str = self.spec.rest_phase
        self._t_prev: float | None = None
        self._events: list[Event] = []
        self._reps: list[RepResult] = []
        self._holds: list[HoldResult] = []
        self._faults: list[FaultResult] = []
        self._pending: dict[str | None, _Pending | None] = {}
        self._rest_extreme: dict[str | None, float] = {}
        self._rep: _Rep | None = None
        self._hold: _Hold | None = None
        self._hold_true_since: dict[str | None, float | None] = {}
        self._relax_until: float | None = None  # hold.pacing: relaxing in position until then
        self._last_side: str | None = self.fixed_side
        self._lost_since: float | None = None
        self._lost_reported = False
        self._rates: dict[str, tuple[float, float, float]] = {}  # name -> (t, value, rate)
        self._rate_values: dict[str, float] = {}  # rates, and change:<name> (see _update_changes)
        self._speed_env: dict[str, float] = {}  # decaying peak |rate| of the rep measure(s)
        self._despike_hist: dict[str, deque[float]] = {}  # last 3 values of the rep measure(s)
        self._still_rates: dict[str, tuple[float, float, float]] = {}  # (t, median, rate)
        self._baseline: dict[str, float] = {}  # measure values at rest before the current rep
        self._history: dict[str, deque[tuple[float, float]]] = {}  # (t, value) at rest, for the baseline
        self._view_ratio: float = _NAN
        self._view: str = "unknown"
        self._wrong_since: float | None = None
        self._wrong_reported = False
        self._fault_state = [_FaultState() for _ in self.spec.faults]
        self._cue_state = [_CueState() for _ in self.spec.cues]
        self._last_known_t: float = _NAN

    # -- helpers ---------------------------------------------------------------------------
    def _emit(self, out: list[Event], kind: EventKind, t: float, side: str | None = None,
              message: str | None = None, **data: Any) -> None:
        ev = Event(kind, float(t), side, data, message)
        out.append(ev)
        self._events.append(ev)

    def _candidates(self) -> list[str | None]:
        if self.follow_sides:
            return ["left", "right"]
        return [self.fixed_side]

    def _better(self, a: float, b: float) -> bool:
        """a is further along the rep direction than b."""
        if not math.isfinite(a):
            return False
        if not math.isfinite(b):
            return True
        return a > b if self.spec.rep.direction == "increase" else a < b

    def _step_rate(self, store: dict[str, tuple[float, float, float]], name: str, v: float, t: float) -> float:
        """One step of a smoothed time derivative: ``store[name]`` is (t, value, rate); NaN until a
        previous sample exists (or when time did not advance)."""
        prev = store.get(name)
        if prev is None or t <= prev[0]:
            store[name] = (t, v, _NAN)
            return _NAN
        dt = t - prev[0]
        raw = (v - prev[1]) / dt
        tau = self.options.rate_tau_s
        alpha = 1.0 - math.exp(-dt / tau) if tau > 0 else 1.0
        r = raw if not math.isfinite(prev[2]) else prev[2] + alpha * (raw - prev[2])
        store[name] = (t, v, r)
        return r

    def _update_rates(self, values: Values, t: float) -> None:
        for name in self._rate_names:
            v = values.get(name, _NAN)
            if v is None or not math.isfinite(v):
                self._rates.pop(name, None)
                self._rate_values[name] = _NAN
                continue
            prev = self._rates.get(name)
            r = self._rate_values[name] = self._step_rate(self._rates, name, v, t)
            if prev is None or t <= prev[0]:  # no rate yet (NaN)
                continue
            dt = t - prev[0]
            if name in self._env_names:
                if name == self._rejected:  # a glitch: left out of the still rate (unknown this frame)
                    r = self._rate_values[STILL_PREFIX + name] = _NAN
                elif self._still:
                    r = self._still_rate(name, v, t)
                if self._settle is not None and math.isfinite(r):
                    env = self._speed_env.get(name, 0.0) * math.exp(-dt / SPEED_ENVELOPE_TAU_S)
                    self._speed_env[name] = max(env, abs(r))
        if self._still:
            for name in self._env_names:
                v = values.get(name, _NAN)
                if v is None or not math.isfinite(v):
                    self._reset_still(name)

    def _still_rate(self, name: str, v: float, t: float) -> float:
        """Smoothed rate of the 3-frame median of the rep measure (hold.despike; the value itself without
        despike), fed only the frames hold.reject_jumps accepts."""
        n = 3 if self._despike else 1
        hist = self._despike_hist.setdefault(name, deque(maxlen=n))
        hist.append(v)
        if len(hist) < n:  # no rate until the median has its three frames (a consistent 1-frame delay)
            self._rate_values[STILL_PREFIX + name] = _NAN
            return _NAN
        r = self._rate_values[STILL_PREFIX + name] = self._step_rate(self._still_rates, name, sorted(hist)[n // 2], t)
        return r

    def _screen_jump(self, values: Values, t: float) -> str | None:
        """hold.reject_jumps: the rep measure's name when this frame's value is a landmark glitch. A glitch
        run starts with a jump (further than ``reject_jumps`` from both the previous frame and the median of
        the last accepted values) and lasts while the value stays that far from the median; a continuous
        movement never starts one. A glitch is unknown to the hold (bridged like lost tracking). A run lasting
        ``ignore_lapse_s`` is a real movement: the hold is out of posture since the run's first frame.
        Not screened through a reported pause; the reference restarts after it and after a real movement."""
        h, rep = self._hold, self._rep
        if self._reject is None or h is None or rep is None:
            return None
        name = self._c(rep.side).rep_measure
        v = values.get(name, _NAN)
        prev, h.prev_v = h.prev_v, v
        if v is None or not math.isfinite(v):
            return None
        if h.pause_reported:  # a real pause: judged as it is, the reference starts again
            h.ref.clear()
            h.reject_since = None
            return None
        far = bool(h.ref) and abs(v - sorted(h.ref)[len(h.ref) // 2]) > self._reject
        if far and (h.reject_since is not None or not math.isfinite(prev) or abs(v - prev) > self._reject):
            if h.reject_since is None:
                h.reject_since = t
            assert self.spec.hold is not None
            if t - h.reject_since < self.spec.hold.ignore_lapse_s - 1e-9:
                return name
            if h.paused_since is None:  # not a glitch: it left the position when the run began
                h.paused_since = h.reject_since
            h.ref.clear()
            self._reset_still(name)  # no still rate across a real movement it did not see
        h.reject_since = None
        h.ref.append(v)
        return None

    def _reset_still(self, name: str) -> None:
        self._despike_hist.pop(name, None)
        self._still_rates.pop(name, None)
        self._rate_values[STILL_PREFIX + name] = _NAN

    def _rate_limit(self, side: str | None) -> float | None:
        """The still-limit of the hold now (None: the spec's fixed ``max_rate``, or no rate gate)."""
        if self._settle is None:
            return None
        frac, lo, hi = self._settle
        env = self._speed_env.get(self._c(side).rep_measure, 0.0)
        return min(hi, max(lo, frac * env))

    def _update_changes(self, values: Values, t: float) -> None:
        """Change of each ``change`` measure since the rep started. The baseline is the measure's value
        ``CHANGE_LEAD_S`` before the movement began (the first frame of the enter run, or now when no
        movement is pending), from a short history kept at rest; it is frozen during the rep."""
        at_rest = self._rep is None
        if at_rest:
            starts = [p.since for p in self._pending.values() if p is not None]
            ref = (min(starts) if starts else t) - CHANGE_LEAD_S
        for name in self._change_names:
            v = values.get(name, _NAN)
            ok = v is not None and math.isfinite(v)
            if at_rest:
                hist = self._history.setdefault(name, deque())
                if ok:
                    hist.append((t, v))
                while len(hist) > 1 and (hist[0][0] < t - 3.0 or hist[1][0] <= ref):
                    hist.popleft()  # keep the newest entry at or before ref, and ~3 s at most
                self._baseline[name] = hist[0][1] if hist else _NAN
            b = self._baseline.get(name, _NAN)
            self._rate_values[CHANGE_PREFIX + name] = v - b if ok and math.isfinite(b) else _NAN

    def _update_view(self, values: Values, t: float, dt: float, out: list[Event]) -> None:
        r = values.get("shoulder_width_ratio", _NAN)
        if r is not None and math.isfinite(r):
            if not math.isfinite(self._view_ratio) or self.options.view_tau_s == 0:
                self._view_ratio = r
            else:
                a = 1.0 - math.exp(-dt / self.options.view_tau_s) if dt > 0 else 0.0
                self._view_ratio += a * (r - self._view_ratio)
            self._view = view_from_ratio(self._view_ratio)
        views = self.spec.camera.views
        ok: Tri = None if self._view == "unknown" else self._view in views
        side = self._rep.side if self._rep else self._last_side
        check = self._c(side).check
        if check is not None:
            ok = _and(ok, check(values, self._rate_values)) if ok is not None else check(values, self._rate_values)
        if ok is False:
            if self._wrong_since is None:
                self._wrong_since = t
            if not self._wrong_reported and t - self._wrong_since >= self.options.wrong_view_after_s:
                self._wrong_reported = True
                self._emit(out, EventKind.WRONG_VIEW, t, view=self._view, expected=",".join(views),
                           message=f"Camera: {self.spec.camera.setup}")
        elif ok is True:
            self._wrong_since = None
            self._wrong_reported = False

    # -- the frame step --------------------------------------------------------------------
    def update(self, measures: Values, t: float) -> list[Event]:
        """Advance the machine by one frame at time ``t`` (seconds, increasing)."""
        t = float(t)
        if self._t_prev is not None and t <= self._t_prev:
            raise OptionsError("t", f"a time after the previous frame ({self._t_prev:.4f} s)", t)
        dt = 0.0 if self._t_prev is None else t - self._t_prev
        out: list[Event] = []
        self._rejected = self._screen_jump(measures, t)
        self._update_rates(measures, t)
        if self._change_names:
            self._update_changes(measures, t)
        rates = self._rate_values
        self._update_view(measures, t, dt, out)

        if self._rep is None:
            known = self._step_rest(measures, rates, t, out)
        else:
            known = self._step_move(measures, rates, t, dt, out)
        self._visibility(known, t, out)
        self._step_faults(measures, rates, t, out)
        self._step_cues(measures, rates, t, out)
        self._t_prev = t
        return out

    def _step_rest(self, values: Values, rates: Values, t: float, out: list[Event]) -> bool:
        if self._relax_until is not None:  # hold.pacing: relaxing in position between paced holds
            x = self._c(self._last_side).exit(values, rates)
            if x is True:  # left the position: the pacing starts again when the patient is back
                self._relax_until = None
                self.phase = self.spec.rest_phase
            elif t < self._relax_until - 1e-9:
                return x is not None
            else:
                self._relax_until = None
        known = False
        confirmed: list[tuple[float, str | None]] = []
        for s in self._candidates():
            c = self._c(s)
            e = c.enter(values, rates)
            v = values.get(c.rep_measure, _NAN)
            self._track_hold_condition(s, values, rates, t)
            p = self._pending.get(s)
            if e is None:
                continue
            known = True
            if e:
                if p is None:
                    p = self._pending[s] = _Pending(t, v, t)
                elif self._better(v, p.peak):
                    p.peak, p.t_peak = v, t
                if t - p.since >= self.spec.phases[1].min_dwell_s - 1e-9:
                    confirmed.append((p.since, s))
            else:
                self._pending[s] = None
                if v is not None and math.isfinite(v):
                    cur = self._rest_extreme.get(s, _NAN)
                    if not math.isfinite(cur) or self._better(cur, v):
                        self._rest_extreme[s] = v
        if confirmed:
            _since, side = min(confirmed, key=lambda x: x[0])
            self._start_rep(side, t, out)
        return known

    def _start_rep(self, side: str | None, t: float, out: list[Event]) -> None:
        p = self._pending[side]
        assert p is not None
        rest = self._rest_extreme.get(side, _NAN)
        if self._pacing is not None:  # a paced rep starts at the app's cue, not when the position was reached
            p.since = t
            self._hold_true_since = {side: t} if self._hold_true_since.get(side) is not None else {}
        self._rep = _Rep(side, p.since, rest, p.peak, p.t_peak)
        self._pending = {}
        self._last_side = side if side is not None else self._last_side
        self.phase = self.spec.move_phase
        for st, f in zip(self._fault_state, self.spec.faults):
            if st.active:
                self._rep.faults.add(f.id)
        self._emit(out, EventKind.REP_STARTED, t, side, start_s=p.since, index=len(self._reps) + 1)
        if self._pacing is not None:
            self._emit(out, EventKind.CUE, t, side, self._pacing.start_cue, id="paced_start")
        since = self._hold_true_since.get(side)
        if self._hold_s is not None and since is not None:
            start = max(since, p.since)
            self._hold = _Hold(start, acc=t - start, last_true_t=t, rate_limit=self._rate_limit(side))
            self._emit(out, EventKind.HOLD_STARTED, t, side, start_s=start, target_s=self._hold_s)
            self._hold_tick(t, side, out)

    def _track_hold_condition(self, s: str | None, values: Values, rates: Values, t: float) -> None:
        ip = self._c(s).in_posture
        if ip is None:
            return
        h = ip(values, rates, self._rate_limit(s))
        if h is True:
            if self._hold_true_since.get(s) is None:
                self._hold_true_since[s] = t
        elif h is False:
            self._hold_true_since[s] = None

    def _step_move(self, values: Values, rates: Values, t: float, dt: float, out: list[Event]) -> bool:
        rep = self._rep
        assert rep is not None
        c = self._c(rep.side)
        v = values.get(c.rep_measure, _NAN)
        if self._better(v, rep.peak):
            rep.peak, rep.t_peak = v, t
        self._step_hold(values, rates, t, out)
        if self._rep is None:  # hold.pacing ended the rep with its hold
            return True
        x = c.exit(values, rates)
        if x is True:
            if rep.exit_since is None:
                rep.exit_since = t
            if t - rep.exit_since >= self.spec.phases[1].min_dwell_s - 1e-9:
                self._end_rep(rep.exit_since, t, out)
        elif x is False:
            rep.exit_since = None
        return x is not None

    def _hold_tick(self, t: float, side: str | None, out: list[Event]) -> None:
        h = self._hold
        assert h is not None and self._hold_s is not None
        whole = int(h.acc + 1e-9)
        if whole > h.progress:
            h.progress = whole
            self._emit(out, EventKind.HOLD_PROGRESS, t, side, held_s=whole, target_s=self._hold_s)
        assert self.spec.hold is not None
        if not h.completed and h.acc >= self._hold_s - self.spec.hold.grace_s - 1e-9:
            h.completed = True
            if self._rep is not None:
                self._rep.hold_done = True
            self._emit(out, EventKind.HOLD_COMPLETED, t, side, held_s=h.acc, target_s=self._hold_s,
                       paced=self._pacing is not None)
            if self._pacing is not None and self._rep is not None:
                self._end_paced(t, out)

    def _step_hold(self, values: Values, rates: Values, t: float, out: list[Event]) -> None:
        rep = self._rep
        assert rep is not None
        c = self._c(rep.side)
        if c.in_posture is None or self._hold_s is None:
            return
        h = self._hold
        limit = self._rate_limit(rep.side) if h is None else h.rate_limit
        if self._rejected is not None:  # hold.reject_jumps: a glitch is unknown to the hold, like lost tracking
            values = {**values, self._rejected: _NAN}
        hp = c.in_posture(values, rates, limit)
        if h is None:
            if hp is True:
                self._hold = _Hold(t, last_true_t=t, rate_limit=limit)
                self._emit(out, EventKind.HOLD_STARTED, t, rep.side, start_s=t, target_s=self._hold_s)
            return
        assert self.spec.hold is not None
        ignore = self.spec.hold.ignore_lapse_s
        if hp is True:
            if h.paused_since is None:
                h.acc += t - h.last_true_t  # bridges frames of lost tracking in between
            elif h.pause_reported:
                self._emit(out, EventKind.HOLD_RESUMED, t, rep.side, held_s=h.acc)
            elif t - h.paused_since <= ignore + 1e-9:
                h.acc += t - h.last_true_t  # a lapse too short to be a wobble: landmark noise
            h.paused_since, h.pause_reported = None, False
            h.last_true_t = t
            self._track_plateau(h, values.get(c.rep_measure, _NAN), t)
            self._hold_tick(t, rep.side, out)
        elif hp is False:
            brk = c.hold_break(values, rates) if c.hold_break else None
            if h.paused_since is None:
                h.paused_since = t
            if not h.pause_reported and brk is not True and t - h.paused_since >= ignore - 1e-9:
                h.pause_reported = True
                self._emit(out, EventKind.HOLD_PAUSED, t, rep.side, held_s=h.acc)
            if brk is True or t - h.paused_since > self.spec.hold.max_pause_s + 1e-9:
                self._end_hold(t, out)
                if self._pacing is not None:
                    self._end_paced(t, out)

    def _track_plateau(self, h: _Hold, v: float | None, t: float) -> None:
        band = self.spec.hold.plateau_band if self.spec.hold is not None else None
        if band is None or v is None or not math.isfinite(v):
            return
        if not math.isfinite(h.plateau):
            h.plateau = v
        else:
            h.plateau += (1.0 - math.exp(-(t - h.plateau_t) / PLATEAU_TAU_S)) * (v - h.plateau)
        h.plateau_t = t
        if abs(v - h.plateau) <= band:
            h.in_band_t, h.in_band_acc = t, h.acc
        elif t - h.in_band_t > PLATEAU_TRIM_MAX_S + 1e-9:  # settled at another level: hold that one
            h.plateau, h.in_band_t, h.in_band_acc = v, t, h.acc

    def _end_hold(self, t: float, out: list[Event]) -> None:
        h = self._hold
        if h is None:
            return
        if h.reject_since is not None and self._rep is not None:  # hold.reject_jumps: ended in a rejected run
            self._reset_still(self._c(self._rep.side).rep_measure)
        if math.isfinite(h.in_band_t) and h.in_band_t < h.last_true_t <= h.in_band_t + PLATEAU_TRIM_MAX_S + 1e-9:
            # the last held frames were already on the way out of the position: not held
            h.last_true_t, h.acc = h.in_band_t, h.in_band_acc
        side = self._rep.side if self._rep else None
        self._holds.append(HoldResult(h.start_s, h.last_true_t, h.acc, h.completed, side))
        if self._rep is not None:
            self._rep.best_hold = max(self._rep.best_hold, h.acc)
        kind = EventKind.HOLD_ENDED if h.completed else EventKind.HOLD_BROKEN
        self._emit(out, kind, t, side, held_s=h.acc, target_s=self._hold_s, start_s=h.start_s,
                   end_s=h.last_true_t)
        self._hold = None

    def _rep_result(self, rep: _Rep, end_s: float, final: bool) -> RepResult:
        s = self.spec
        hold_s = None
        if self._hold_s is not None:
            cur = self._hold.acc if self._hold is not None else 0.0
            hold_s = max(rep.best_hold, cur)
        reached = True
        attainment = 1.0
        lo, hi = self._band
        goal = lo if s.rep.direction == "increase" else hi
        if s.rep.target is not None and goal is not None:
            if not math.isfinite(rep.peak):
                reached, attainment = False, 0.0
            else:
                reached = rep.peak >= goal if s.rep.direction == "increase" else rep.peak <= goal
                base = rep.rest_value
                span = (goal - base) if math.isfinite(base) else _NAN
                if reached:
                    attainment = 1.0
                elif math.isfinite(span) and abs(span) > 1e-6:
                    attainment = (rep.peak - base) / span
                else:
                    attainment = 0.0
        hold_ok = self._hold_s is None or rep.hold_done
        hold_fraction = None if self._hold_s is None else min(1.0, (hold_s or 0.0) / self._hold_s)
        duration = end_s - rep.start_s
        reason = None
        if not reached:
            reason = "target not reached"
        elif not hold_ok:
            reason = "hold not achieved"
        elif rep.interrupted:
            reason = "patient not visible during the rep"
        elif duration < s.rep.min_duration_s:
            reason = "too short"
        elif final and self._hold_s is None:
            reason = "recording ended before the return"
        complete = reason is None
        severities = [f.severity for f in s.faults if f.id in rep.faults]
        rom = abs(rep.peak - rep.rest_value) if math.isfinite(rep.rest_value) else _NAN
        return RepResult(
            index=len(self._reps) + 1, side=rep.side, start_s=rep.start_s, end_s=end_s, peak=rep.peak,
            range_of_motion=rom, hold_s=hold_s, complete=complete,
            form_score=rep_score(attainment, hold_fraction, severities),
            faults=sorted(rep.faults), time_to_peak_s=rep.t_peak - rep.start_s, reason=reason)

    def _end_rep(self, end_s: float, t: float, out: list[Event]) -> None:
        rep = self._rep
        assert rep is not None
        if self._hold is not None:
            self._end_hold(t, out)
        r = self._rep_result(rep, end_s, final=False)
        self._reps.append(r)
        kind = EventKind.REP_COMPLETED if r.complete else EventKind.REP_INCOMPLETE
        self._emit(out, kind, t, rep.side, index=r.index, complete=r.complete, count=self.rep_count,
                   peak=r.peak, range_of_motion=r.range_of_motion, start_s=r.start_s, end_s=r.end_s,
                   duration_s=r.duration_s, time_to_peak_s=r.time_to_peak_s,
                   return_s=r.end_s - rep.t_peak, hold_s=r.hold_s, hold_achieved=rep.hold_done,
                   form_score=r.form_score, reason=r.reason)
        self._rep = None
        self.phase = self.spec.rest_phase
        self._pending = {}
        self._rest_extreme = {}
        self._hold_true_since = {}

    def _end_paced(self, t: float, out: list[Event]) -> None:
        """hold.pacing: the paced hold is over (done or broken), so is its rep; relax in position."""
        assert self._pacing is not None and self._rep is not None
        side = self._rep.side
        self._end_rep(t, t, out)
        self._relax_until = t + self._pacing.relax_s
        self.phase = self.spec.move_phase  # still in position, relaxing
        self._emit(out, EventKind.CUE, t, side, self._pacing.relax_cue, id="paced_relax")

    def _visibility(self, known: bool, t: float, out: list[Event]) -> None:
        if known:
            self._last_known_t = t
            if self._lost_reported:
                self._emit(out, EventKind.VISIBLE, t)
            self._lost_since = None
            self._lost_reported = False
            return
        if self._lost_since is None:
            self._lost_since = t
        if not self._lost_reported and t - self._lost_since >= self.options.lost_grace_s - 1e-9:
            self._lost_reported = True
            self._emit(out, EventKind.NOT_VISIBLE, t, since_s=self._lost_since,
                       message="I can't see you: step back into the camera view.")
            if self._hold is not None:
                self._end_hold(t, out)
            if self._rep is not None:
                self._rep.interrupted = True

    def _fault_side(self) -> str | None:
        if self._rep is not None:
            return self._rep.side
        return self._last_side if (self.fixed_side or self.follow_sides) else None

    def _step_faults(self, values: Values, rates: Values, t: float, out: list[Event]) -> None:
        side = self._fault_side()
        c = self._c(side)
        for i, (f, st) in enumerate(zip(self.spec.faults, self._fault_state)):
            in_scope = (f.phases is None or self.phase in f.phases) and (f.views is None or self._view in f.views)
            if not in_scope:
                st.since = None
                if st.active:
                    self._clear_fault(i, t, out)
                continue
            when, clear = c.faults[i]
            w = when(values, rates)
            if not st.active:
                if w is True:
                    if st.since is None:
                        st.since = t
                    if t - st.since >= f.min_duration_s - 1e-9:
                        st.active, st.start_s, st.clear_since, st.side = True, st.since, None, side
                        if self._rep is not None:
                            self._rep.faults.add(f.id)
                        self._emit(out, EventKind.FAULT_RAISED, t, side, f.message, id=f.id,
                                   severity=f.severity, start_s=st.since)
                elif w is False:
                    st.since = None
            else:
                if self._rep is not None:
                    self._rep.faults.add(f.id)
                cl = clear(values, rates) if clear is not None else (None if w is None else not w)
                if cl is True:
                    if st.clear_since is None:
                        st.clear_since = t
                    if t - st.clear_since >= f.clear_after_s - 1e-9:
                        self._clear_fault(i, t, out, end_s=st.clear_since)
                elif cl is False:
                    st.clear_since = None

    def _clear_fault(self, i: int, t: float, out: list[Event], end_s: float | None = None) -> None:
        f, st = self.spec.faults[i], self._fault_state[i]
        end = t if end_s is None else end_s
        self._faults.append(FaultResult(f.id, f.severity, st.start_s, end, f.message, st.side))
        self._emit(out, EventKind.FAULT_CLEARED, t, st.side, id=f.id, severity=f.severity,
                   start_s=st.start_s, end_s=end)
        st.active, st.since, st.clear_since = False, None, None

    def _step_cues(self, values: Values, rates: Values, t: float, out: list[Event]) -> None:
        if not self.spec.cues:
            return
        side = self._fault_side()
        c = self._c(side)
        for q, st, cond in zip(self.spec.cues, self._cue_state, c.cues):
            in_scope = (q.phases is None or self.phase in q.phases) and (
                not q.during_hold or (self._hold is not None and not self._hold.pause_reported))
            w = (cond(values, rates) if cond else True) if in_scope else False
            if w is True:
                if st.since is None:
                    st.since = t
                if t - st.since >= q.min_duration_s - 1e-9 and (st.last is None or t - st.last >= q.every_s - 1e-9):
                    st.last = t
                    self._emit(out, EventKind.CUE, t, side, q.message, id=q.id)
            elif w is False:
                st.since = None

    # -- results ---------------------------------------------------------------------------
    @property
    def rep_count(self) -> int:
        return sum(r.complete for r in self._reps)

    @property
    def events(self) -> list[Event]:
        return list(self._events)

    @property
    def view(self) -> str:
        """Current estimate of the camera view (side / oblique / front / unknown)."""
        return self._view

    def result(self) -> ExerciseResult:
        """Results so far (non-destructive: the machine can go on). A rep still in progress is
        included when it already has its completed hold; otherwise it is reported as incomplete."""
        reps = list(self._reps)
        holds = list(self._holds)
        faults = list(self._faults)
        warnings: list[str] = []
        t_end = self._t_prev if self._t_prev is not None else 0.0
        if self._hold is not None:
            h = self._hold
            holds.append(HoldResult(h.start_s, h.last_true_t, h.acc, h.completed,
                                    self._rep.side if self._rep else None))
        if self._rep is not None:
            r = self._rep_result(self._rep, t_end, final=True)
            reps.append(r)
            if not r.complete:
                warnings.append(f"the recording ended during rep {r.index} ({r.reason})")
        for f, st in zip(self.spec.faults, self._fault_state):
            if st.active:
                faults.append(FaultResult(f.id, f.severity, st.start_s, t_end, f.message, st.side))
        faults.sort(key=lambda f: f.start_s)
        for f in self.spec.faults:
            n = sum(x.id == f.id for x in faults)
            if f.severity == "harmful" and n >= HARMFUL_REPEAT:
                warnings.append(f"A posture that can hurt a painful back was repeated: {f.id.replace('_', ' ')} "
                                f"{n} times ({f.message}). Review this exercise with the patient before "
                                "progressing; stop if it hurts.")
        sets = group_sets(reps, faults, self.spec.prescription.set_break_s)
        p = self.spec.prescription
        sides = None
        if self.spec.sides in ("alternating", "each_side"):
            sides = self.fixed_side or "each"
        elif self.spec.sides in ("left", "right"):
            sides = self.spec.sides
        wrong = [e for e in self._events if e.kind == EventKind.WRONG_VIEW]
        if wrong:
            seen = sorted({str(e.data.get("view")) for e in wrong})
            warnings.append(f"The camera saw the patient from the {'/'.join(seen)} for part of the recording; this "
                            f"exercise is measured from the {'/'.join(self.spec.camera.views)}: figures from the "
                            "wrong view are unreliable.")
        if self._lost_reported or any(e.kind == EventKind.NOT_VISIBLE for e in self._events):
            warnings.append("the patient was out of view for part of the recording")
        return ExerciseResult(
            exercise=self.spec.id, side=self.fixed_side, rep_count=sum(r.complete for r in reps), reps=reps,
            holds=holds, faults=faults, sets=sets, form_score=sets_score(sets), events=list(self._events),
            prescription={"reps": p.reps, "sets": p.sets, "hold_s": p.hold_s, "sides": sides},
            key_measure=self.spec.key_measure(), warnings=warnings)
