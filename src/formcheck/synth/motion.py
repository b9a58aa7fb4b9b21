"""Motion-script building blocks: natural timing (ease-in/out, tempo variation, rests, tremor) and the
:class:`Script` every exercise script returns (joint angles per frame + the events it contains)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


def ease(x: np.ndarray) -> np.ndarray:
    """Smooth ease-in/ease-out from 0 to 1 (minimum-jerk profile)."""
    x = np.clip(x, 0.0, 1.0)
    return x ** 3 * (10 - 15 * x + 6 * x * x)


@dataclass
class Rep:
    start_s: float
    end_s: float
    peak_s: float  # time the peak position is first reached
    amplitude: float  # fraction of the prescribed range reached
    hold_start_s: float
    hold_end_s: float
    side: str | None = None
    ballistic: bool = False
    faults: list[str] = field(default_factory=list)

    @property
    def hold_s(self) -> float:
        return self.hold_end_s - self.hold_start_s


@dataclass
class Timeline:
    """A progress curve p(t) in [0, 1] (0 = start position, 1 = prescribed peak) and its reps."""

    fps: float
    p: np.ndarray  # (T,)
    reps: list[Rep]
    rep_index: np.ndarray  # (T,) index of the rep under way, -1 at rest

    @property
    def t(self) -> np.ndarray:
        return np.arange(len(self.p)) / self.fps

    def mask(self, reps: list[int] | None = None) -> np.ndarray:
        """(T,) bool: frames inside the given reps (all reps when None)."""
        if reps is None:
            return self.rep_index >= 0
        return np.isin(self.rep_index, reps)

    def envelope(self, reps: list[int]) -> np.ndarray:
        """p(t) restricted to the given reps, 0 elsewhere: a fault that grows with the movement."""
        return np.where(self.mask(reps), self.p / np.maximum(self.p.max(), 1e-9), 0.0)


def timeline(rng: np.random.Generator, fps: float, *, reps: int, up: float, down: float, hold: float = 0.0,
             rest: float = 1.2, lead_in: float = 1.0, lead_out: float = 1.0, tempo_jitter: float = 0.12,
             amplitudes: list[float] | None = None, holds: list[float] | None = None,
             ballistic: list[int] | None = None, sides: list[str | None] | None = None) -> Timeline:
    """Reps with ease-in/out: rest, rise (``up`` s), hold at the peak, return (``down`` s), with tempo varied
    by +/- ``tempo_jitter`` per rep. ``amplitudes``/``holds`` override each rep's range and hold time;
    reps in ``ballistic`` are fast and bounce at both ends (jerky)."""
    amplitudes = amplitudes or [1.0] * reps
    holds = holds if holds is not None else [hold] * reps
    ballistic = set(ballistic or [])
    sides = sides or [None] * reps
    segs: list[np.ndarray] = []
    idx: list[np.ndarray] = []
    out: list[Rep] = []
    dt = 1.0 / fps
    t_now = 0.0

    def n_frames(seconds: float) -> int:
        return max(1, int(round(seconds * fps)))

    def add(values: np.ndarray, rep: int) -> None:
        nonlocal t_now
        segs.append(values)
        idx.append(np.full(len(values), rep))
        t_now += len(values) * dt

    add(np.zeros(n_frames(lead_in * rng.uniform(0.8, 1.2))), -1)
    for i in range(reps):
        k = 1.0 + rng.uniform(-tempo_jitter, tempo_jitter)
        a = amplitudes[i]
        fast = i in ballistic
        u = (0.35 if fast else up) * k
        d = (0.3 if fast else down) * k
        h = holds[i]
        start = t_now
        nu = n_frames(u)
        x = (np.arange(nu) + 1) / nu
        rise = a * (x if fast else ease(x))
        if fast:  # overshoot and bounce at the top
            rise = a * (np.minimum(x * 1.15, 1.15) - 0.15 * np.clip((x - 0.85) / 0.15, 0, 1))
        add(rise, i)
        peak = t_now - dt
        hold_start = peak
        nh = int(np.ceil(h * fps - 1e-9))  # a hold lasts at least the stated time
        if nh:
            add(np.full(nh, a), i)
        if fast:
            add(a * np.array([0.9, 1.05, 0.95, 1.0])[:max(1, int(round(0.25 * fps)))], i)
        hold_end = t_now - dt
        nd = n_frames(d)
        x = (np.arange(nd) + 1) / nd
        fall = a * (1 - (x if fast else ease(x)))
        if fast:
            fall = a * np.clip(1 - x * 1.12, 0.0, 1)
        add(fall, i)
        end = t_now
        out.append(Rep(start_s=start, end_s=end, peak_s=peak, amplitude=a, hold_start_s=hold_start,
                       hold_end_s=hold_end, side=sides[i], ballistic=fast))
        if fast:
            add(np.array([0.08, 0.0, 0.04])[:max(1, int(round(0.2 * fps)))] * a, i)
            out[-1].end_s = t_now
        r = rest * rng.uniform(0.8, 1.25) if i < reps - 1 else lead_out * rng.uniform(0.8, 1.2)
        add(np.zeros(n_frames(r)), -1)
    return Timeline(fps=fps, p=np.concatenate(segs), reps=out, rep_index=np.concatenate(idx))


def tremor(rng: np.random.Generator, T: int, fps: float, amplitude_deg: float = 0.6, cutoff_hz: float = 1.5) -> np.ndarray:
    """Small, smooth, zero-mean wobble (deg) of a held joint: low-pass filtered noise."""
    x = rng.normal(0.0, 1.0, T + 64)
    k = max(1, int(round(fps / cutoff_hz)))
    kernel = np.hanning(2 * k + 1)
    kernel /= kernel.sum()
    y = np.convolve(x, kernel, mode="same")[32:32 + T]
    s = y.std()
    return amplitude_deg * y / s if s > 0 else y


@dataclass
class Script:
    """One exercise execution: everything the renderer and the sidecar need.

    ``pose`` holds joint angles (T,) in degrees (see :mod:`formcheck.synth.rig`); ``pitch`` is the
    pelvis's forward pitch in the world (0 upright, -90 lying on the back, +90 face down) and ``roll``
    its roll (+ = the body's left side goes up).
    """

    exercise: str
    variant: str
    fps: float
    pose: dict[str, np.ndarray]
    pitch: np.ndarray
    roll: np.ndarray
    tl: Timeline
    side: str | None
    ground: str = "all"  # vertices that touch the support: "all" or "torso"
    anchor: str = "feet"  # landmarks whose horizontal position stays fixed: feet|pelvis|shoulders|hands_knees
    support_height: float = 0.0  # floor (0) or bed top
    placement: str = "table"  # default laptop placement for this exercise
    environment: dict = field(default_factory=dict)  # mat, bed, wall
    faults: list[dict] = field(default_factory=list)  # [{id, start_s, end_s}]
    hold_target_s: float = 0.0  # prescribed hold (0 = none)
    notes: str = ""
    #: optional correction from the rendered truth: (measures, world landmarks) -> a new ``pose`` to render
    #: instead, or None when the script's targets are met (e.g. the knee angle *measured on the landmarks*
    #: at the hold is the prescribed 45 deg; the heel rises exactly the stated height)
    refine: Callable[[dict, np.ndarray], dict | None] | None = None

    @property
    def T(self) -> int:
        return len(self.pitch)


def intervals(mask: np.ndarray, fps: float, min_len_s: float = 0.0) -> list[tuple[float, float]]:
    """[start_s, end_s) runs of True in a frame mask."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.diff(m.astype(np.int8))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [(s / fps, e / fps) for s, e in zip(starts, ends) if (e - s) / fps >= min_len_s]
