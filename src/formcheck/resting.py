"""How far a measure is below the person's own recent resting level: streaming, causal, drift-tolerant.

Some movements are a small change of a measure whose absolute value depends on the body and on the
camera: a posterior pelvic tilt lowers the trunk line (``trunk_to_horizontal``) of a person lying on
their back by 1–2° and their lumbar back contour (``lumbar_curve``) by ~1 % of the trunk length, while
the resting values differ between people, camera placements and even between the rests of one set
(the landmarks and the mask's edge drift by a few tenths). A fixed threshold cannot count such
movements and the tracker's ``change`` baseline (frozen at the start of a rep) cannot see a rest level
that moved. :class:`RestingReference` measures against the person's *own recent* rest instead:

* the **smoothed level** is the running median over ``smooth_s`` (rejects one-frame glitches and most
  noise);
* the **resting level** is the highest smoothed level of the last ``window_s`` (for movements that
  lower the measure from a rest that is its highest value: a hold shorter than the window stays
  measurable against the rest before it, and the reference follows a drifting rest within
  ``window_s``);
* optionally only **still** periods may become the resting level (``still_range``: the raw values of
  the smoothing window span at most this much, and the window covers at least ``min_span_s``): the way
  into the position (lying down from sitting) and the first frames of a track are not a rest;
* optionally a drop larger than ``max_drop`` is another posture, not the movement (the person lay down
  after sitting up): the history is forgotten and the new posture's rest is found afresh (NaN until then);
* ``rise=True`` mirrors all of it for movements that *raise* the measure from a rest that is its lowest
  value (a heel raise lifts the ankles above the toes): the resting level is the lowest smoothed level,
  the output ``value - reference`` (+ = above rest) and ``max_drop`` a rise.

``update(value, t) -> drop`` returns ``reference - value`` (+ = below rest) — O(1) amortised per frame
(the smoothing median is over ``smooth_s`` of frames), identical live and over a recorded sequence
(:func:`drop_below_rest` runs the same class). NaN values are skipped (the windows still age with
time); the output is NaN where the value is NaN or no reference exists yet.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from formcheck.errors import FieldError

__all__ = ["RestingReference", "drop_below_rest", "rise_above_rest"]


class RestingReference:
    """``update(value, t) -> reference - value``: how far below its own recent resting level a measure
    is (see the module docstring); with ``rise=True`` ``value - reference`` above its lowest resting level.
    ``reset()`` forgets the history."""

    def __init__(self, window_s: float = 10.0, smooth_s: float = 1.0, still_range: float | None = None,
                 min_span_s: float = 0.0, max_drop: float | None = None, rise: bool = False) -> None:
        if not (np.isfinite(window_s) and np.isfinite(smooth_s) and window_s > 0 and smooth_s > 0):
            raise FieldError("window_s/smooth_s", "positive seconds", (window_s, smooth_s),
                             where=type(self).__name__)
        if still_range is not None and not (np.isfinite(still_range) and still_range > 0):
            raise FieldError("still_range", "None or a positive range", still_range, where=type(self).__name__)
        if max_drop is not None and not (np.isfinite(max_drop) and max_drop > 0):
            raise FieldError("max_drop", "None or a positive drop", max_drop, where=type(self).__name__)
        if not (np.isfinite(min_span_s) and 0 <= min_span_s <= smooth_s):
            raise FieldError("min_span_s", f"seconds in [0, smooth_s={smooth_s}]", min_span_s,
                             where=type(self).__name__)
        self.window_s = float(window_s)
        self.smooth_s = float(smooth_s)
        self.still_range = None if still_range is None else float(still_range)
        self.min_span_s = float(min_span_s)
        self.max_drop = None if max_drop is None else float(max_drop)
        self.rise = bool(rise)  # the mirror image: values are negated inside, the rest is the lowest level
        self.reset()

    def reset(self) -> None:
        self._raw: deque[tuple[float, float]] = deque()  # (t, value) of the smoothing window
        self._peaks: deque[tuple[float, float]] = deque()  # (t, smoothed) candidates, values decreasing

    @property
    def reference(self) -> float:
        """The current resting level (NaN before there is one)."""
        if not self._peaks:
            return float("nan")
        return -self._peaks[0][1] if self.rise else self._peaks[0][1]

    def update(self, value: float, t: float) -> float:
        t = float(t)
        while self._raw and self._raw[0][0] <= t - self.smooth_s:
            self._raw.popleft()
        while self._peaks and self._peaks[0][0] <= t - self.window_s:
            self._peaks.popleft()
        if value is None or not np.isfinite(value):
            return float("nan")
        value = -float(value) if self.rise else float(value)
        if self.max_drop is not None and self._peaks and self._peaks[0][1] - value > self.max_drop:
            self.reset()  # another posture: its rest is not this one's
        self._raw.append((t, value))
        vals = [v for _, v in self._raw]
        eligible = t - self._raw[0][0] >= self.min_span_s - 1e-9
        if eligible and self.still_range is not None:
            eligible = max(vals) - min(vals) <= self.still_range
        if eligible:
            level = float(np.median(vals))
            while self._peaks and self._peaks[-1][1] <= level:  # a monotonic deque: the max is at the front
                self._peaks.pop()
            self._peaks.append((t, level))
        return (self._peaks[0][1] - value) if self._peaks else float("nan")


def drop_below_rest(values: np.ndarray, t: np.ndarray, **options: float | None) -> np.ndarray:
    """(T,) float32 :class:`RestingReference` drop of a series taken at times ``t`` (s); ``options`` are
    the class's."""
    values = np.asarray(values, np.float64)
    t = np.asarray(t, np.float64)
    if values.shape != t.shape or values.ndim != 1:
        raise FieldError("values", f"a (T,) series matching t {t.shape}", values.shape, where="drop_below_rest")
    ref = RestingReference(**options)  # type: ignore[arg-type]
    return np.array([ref.update(v, ti) for v, ti in zip(values, t)], np.float32)


def rise_above_rest(values: np.ndarray, t: np.ndarray, **options: float | None) -> np.ndarray:
    """(T,) float32 rise of a series above its own lowest resting level (:class:`RestingReference` with
    ``rise=True``); ``options`` are the class's."""
    return drop_below_rest(values, t, rise=True, **options)  # type: ignore[arg-type]
