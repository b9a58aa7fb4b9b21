"""Drawing the coaching overlay on a frame: skeleton, key angle with its target band, rep counter,
hold countdown, cue and fault banners.

Used by the annotated video of ``formcheck analyze`` and by live coaching. :func:`draw_overlay` is a
pure function of its inputs (image, landmarks, :class:`OverlayState`): it keeps no state between calls,
so the same frame and state always give the same picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from formcheck.errors import OptionsError
from formcheck.keypoints import PoseFrame
from formcheck.landmarks import POSE_CONNECTIONS, Landmark

Severity = Literal["info", "warning", "harmful"]

# BGR colours
_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)
_GREEN = (80, 200, 60)
_AMBER = (0, 170, 255)
_RED = (40, 40, 220)
_BLUE = (200, 120, 40)
_LEFT = (0, 140, 255)  # orange: the person's left side
_RIGHT = (230, 200, 40)  # cyan-ish: the person's right side
_CENTRE = (230, 230, 230)
_SEVERITY_COLOUR = {"harmful": _RED, "warning": _AMBER, "info": _BLUE}
_FONT = cv2.FONT_HERSHEY_SIMPLEX

L = Landmark
# Angle measures drawn at their joint: measure stem -> (proximal, vertex, distal) for the left side.
_JOINT_ANGLES: dict[str, tuple[Landmark, Landmark, Landmark]] = {
    "knee_flexion": (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE),
    "hip_flexion": (L.LEFT_SHOULDER, L.LEFT_HIP, L.LEFT_KNEE),
    "elbow_flexion": (L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST),
    "shoulder_flexion": (L.LEFT_HIP, L.LEFT_SHOULDER, L.LEFT_ELBOW),
    "ankle_dorsiflexion": (L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_FOOT_INDEX),
}
del L


def _side_of(index: int) -> str:
    name = Landmark(index).name
    return "left" if name.startswith("LEFT") else "right" if name.startswith("RIGHT") else "centre"


_LANDMARK_COLOUR = {int(m): {"left": _LEFT, "right": _RIGHT, "centre": _CENTRE}[_side_of(int(m))] for m in Landmark}


def joint_for_measure(name: str | None, frame: PoseFrame | None = None) -> tuple[Landmark, Landmark, Landmark] | None:
    """The (proximal, vertex, distal) landmarks of a joint-angle measure such as ``knee_flexion_right``;
    None for measures that are not a joint angle (inclinations, heights, lines). A bare name
    (``knee_flexion``: the more visible side) picks the side with the more visible joint in ``frame``
    (left when unknown)."""
    if not name:
        return None

    def mirror(m: Landmark) -> Landmark:
        return Landmark[m.name.replace("LEFT", "RIGHT")]

    for stem, left in _JOINT_ANGLES.items():
        right = tuple(mirror(m) for m in left)
        if name == f"{stem}_left":
            return left
        if name == f"{stem}_right":
            return right  # type: ignore[return-value]
        if name == stem:
            if frame is None:
                return left
            vis = np.nan_to_num(frame.visibility, nan=0.0)
            vl = min(float(vis[int(m)]) for m in left)
            vr = min(float(vis[int(m)]) for m in right)
            return left if vl >= vr else right  # type: ignore[return-value]
    return None


@dataclass(frozen=True)
class FaultBanner:
    """A fault shown as a coloured banner while it is happening."""

    message: str
    severity: Severity = "warning"

    def __post_init__(self) -> None:
        if self.severity not in _SEVERITY_COLOUR:
            raise OptionsError("severity", "info | warning | harmful", self.severity)


@dataclass(frozen=True)
class OverlayState:
    """Everything the overlay shows besides the landmarks. All fields optional.

    * ``measure_name`` / ``measure_value``: the key measure now (NaN: not measurable this frame), shown
      on a gauge from ``gauge_min`` to ``gauge_max`` with the target band ``target_min``..``target_max``;
      joint angles are also marked at the joint.
    * ``rep_count`` / ``reps_target``: "Reps 4 / 10".
    * ``hold_elapsed_s`` / ``hold_target_s``: a hold in progress, shown as a countdown ("Hold 3.2 s");
      ``hold_paused``: the patient left the position, the timer waits ("Hold paused").
    * ``cue``: one line of coaching; ``faults``: banners for faults happening now.
    * ``status``: a line such as "No person in view"; ``title``: exercise name; ``time_s``: clock.
    """

    title: str | None = None
    measure_name: str | None = None
    measure_label: str | None = None
    measure_value: float = float("nan")
    unit: str = "deg"
    target_min: float | None = None
    target_max: float | None = None
    gauge_min: float = 0.0
    gauge_max: float = 180.0
    rep_count: int | None = None
    reps_target: int | None = None
    hold_elapsed_s: float | None = None
    hold_target_s: float | None = None
    hold_paused: bool = False
    cue: str | None = None
    faults: tuple[FaultBanner, ...] = field(default_factory=tuple)
    status: str | None = None
    time_s: float | None = None

    def __post_init__(self) -> None:
        if not self.gauge_max > self.gauge_min:
            raise OptionsError("gauge_max", f"> gauge_min ({self.gauge_min})", self.gauge_max)
        if self.rep_count is not None and self.rep_count < 0:
            raise OptionsError("rep_count", ">= 0", self.rep_count)
        object.__setattr__(self, "faults", tuple(self.faults))

    @property
    def in_band(self) -> bool | None:
        """True when the measure is inside the target band, None when unknown or no band."""
        v = self.measure_value
        if v is None or not math.isfinite(v) or (self.target_min is None and self.target_max is None):
            return None
        lo = -math.inf if self.target_min is None else self.target_min
        hi = math.inf if self.target_max is None else self.target_max
        return lo <= v <= hi


def _fmt(v: float, unit: str) -> str:
    return f"{v:.0f} deg" if unit == "deg" else f"{v:.2f} {unit}".rstrip()


def _panel(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int] = _BLACK,
           alpha: float = 0.55) -> None:
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    overlay = np.empty_like(roi)
    overlay[:] = colour
    cv2.addWeighted(overlay, alpha, roi, 1 - alpha, 0, dst=roi)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, colour: tuple[int, int, int],
          thickness: int, outline: bool = False) -> None:
    text = text.encode("ascii", "replace").decode("ascii")
    if outline:  # readable over the video itself
        cv2.putText(img, text, org, _FONT, scale, _BLACK, thickness + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, _FONT, scale, colour, thickness, cv2.LINE_AA)


def _points(frame: PoseFrame, shape: tuple[int, int], min_visibility: float) -> np.ndarray:
    """(33, 2) float pixel positions in the target image, NaN where hidden or not found."""
    w0, h0 = frame.image_size
    h, w = shape
    sx = w / w0 if w0 else 1.0
    sy = h / h0 if h0 else 1.0
    pts = frame.xyz[:, :2].astype(np.float64) * (sx, sy)
    vis = np.nan_to_num(frame.visibility.astype(np.float64), nan=0.0)
    pts[vis < min_visibility] = np.nan
    return pts


def _draw_skeleton(img: np.ndarray, pts: np.ndarray, u: float) -> None:
    lw = max(1, round(3 * u))
    finite = np.isfinite(pts).all(axis=1)
    for a, b in POSE_CONNECTIONS:
        if finite[a] and finite[b]:
            colour = _LANDMARK_COLOUR[int(a)] if _side_of(int(a)) == _side_of(int(b)) else _CENTRE
            cv2.line(img, (int(pts[a, 0]), int(pts[a, 1])), (int(pts[b, 0]), int(pts[b, 1])), colour, lw,
                     cv2.LINE_AA)
    r = max(2, round(4 * u))
    for i in np.flatnonzero(finite):
        if i <= int(Landmark.MOUTH_RIGHT) and i != int(Landmark.NOSE):
            continue  # face details clutter the picture
        cv2.circle(img, (int(pts[i, 0]), int(pts[i, 1])), r, _LANDMARK_COLOUR[int(i)], -1, cv2.LINE_AA)


def _draw_joint(img: np.ndarray, pts: np.ndarray, joint: tuple[Landmark, Landmark, Landmark],
                state: OverlayState, colour: tuple[int, int, int], u: float) -> None:
    a, b, c = (pts[int(j)] for j in joint)
    if not (np.isfinite(a).all() and np.isfinite(b).all() and np.isfinite(c).all()):
        return
    lw = max(2, round(5 * u))
    pa, pb, pc = (tuple(int(v) for v in p) for p in (a, b, c))
    cv2.line(img, pb, pa, colour, lw, cv2.LINE_AA)
    cv2.line(img, pb, pc, colour, lw, cv2.LINE_AA)
    ang_a = math.degrees(math.atan2(a[1] - b[1], a[0] - b[0]))
    ang_c = math.degrees(math.atan2(c[1] - b[1], c[0] - b[0]))
    d = (ang_c - ang_a + 540) % 360 - 180  # shortest signed sweep from a to c
    radius = max(12, round(28 * u))
    cv2.ellipse(img, pb, (radius, radius), 0, ang_a, ang_a + d, colour, max(2, round(3 * u)), cv2.LINE_AA)
    if math.isfinite(state.measure_value):
        _text(img, _fmt(state.measure_value, state.unit), (pb[0] + radius + 4, pb[1] - 4), 0.6 * u, colour,
              max(1, round(2 * u)), outline=True)


def _draw_gauge(img: np.ndarray, state: OverlayState, colour: tuple[int, int, int], u: float) -> None:
    h, w = img.shape[:2]
    th = max(1, round(u))
    pad = round(8 * u)
    label = state.measure_label or (state.measure_name or "").replace("_", " ")
    v = state.measure_value
    value_text = _fmt(v, state.unit) if math.isfinite(v) else "--"
    band_text = None
    if state.target_min is not None or state.target_max is not None:
        lo_t = "" if state.target_min is None else f"{state.target_min:.0f}"
        hi_t = "" if state.target_max is None else f"{state.target_max:.0f}"
        band_text = f"target {lo_t}-{hi_t}"
    texts = [(label, 0.45 * u, th), (value_text, 0.6 * u, th + 1)] + ([(band_text, 0.45 * u, th)] if band_text else [])
    sizes = [cv2.getTextSize(t, _FONT, s, k)[0] for t, s, k in texts]
    gw = max(14, round(22 * u))
    pw = max(max(sw for sw, _ in sizes), gw) + 2 * pad
    gh = int(h * 0.40)
    px1 = w - round(6 * u)
    px0 = px1 - pw
    x0 = px0 + (pw - gw) // 2
    y0 = round(h * 0.25)
    line_h = sizes[0][1] + pad
    _panel(img, px0, y0 - line_h - pad, px1, y0 + gh + pad + sum(sh + pad for _, sh in sizes[1:]) + pad, alpha=0.5)
    _text(img, label, (px0 + pad, y0 - pad), texts[0][1], _WHITE, th)
    span = state.gauge_max - state.gauge_min

    def y_of(val: float) -> int:  # larger value higher up
        f = (min(max(val, state.gauge_min), state.gauge_max) - state.gauge_min) / span
        return int(round(y0 + gh - f * gh))

    cv2.rectangle(img, (x0, y0), (x0 + gw, y0 + gh), (90, 90, 90), -1)
    if band_text:
        lo = state.gauge_min if state.target_min is None else state.target_min
        hi = state.gauge_max if state.target_max is None else state.target_max
        cv2.rectangle(img, (x0, y_of(hi)), (x0 + gw, y_of(lo)), _GREEN, -1)
    cv2.rectangle(img, (x0, y0), (x0 + gw, y0 + gh), _WHITE, 1)
    if math.isfinite(v):
        y = y_of(v)
        cv2.line(img, (x0 - round(6 * u), y), (x0 + gw + round(6 * u), y), colour, max(2, round(4 * u)))
    y = y0 + gh + pad
    for (t, s, k), (_, sh), c in zip(texts[1:], sizes[1:], (colour, _GREEN)):
        y += sh + pad
        _text(img, t, (px0 + pad, y), s, c, k)


def _draw_counters(img: np.ndarray, state: OverlayState, u: float) -> None:
    lines: list[tuple[str, float, tuple[int, int, int]]] = []
    if state.title:
        lines.append((state.title, 0.6, _WHITE))
    if state.rep_count is not None:
        reps = f"Reps {state.rep_count}" + (f" / {state.reps_target}" if state.reps_target else "")
        lines.append((reps, 1.0, _WHITE))
    hold_frac = None
    if state.hold_elapsed_s is not None:
        el = max(0.0, state.hold_elapsed_s)
        if state.hold_target_s:
            remaining = state.hold_target_s - el
            text = f"Hold {remaining:.1f} s" if remaining > 0 else "Hold done - come back slowly"
            hold_frac = min(1.0, el / state.hold_target_s)
            colour = _GREEN if remaining <= 0 else _WHITE
            if state.hold_paused and remaining > 0:
                text, colour = f"Hold paused {remaining:.1f} s", _AMBER
            lines.append((text, 0.9, colour))
        else:
            lines.append((f"Hold {el:.1f} s", 0.9, _WHITE))
    if state.time_s is not None and math.isfinite(state.time_s):
        m, s = divmod(state.time_s, 60)
        lines.append((f"{int(m):02d}:{s:04.1f}", 0.5, (200, 200, 200)))
    if not lines:
        return
    pad = round(10 * u)
    th = max(1, round(2 * u))
    sizes = [cv2.getTextSize(t, _FONT, s * u, th)[0] for t, s, _ in lines]
    width = max(sw for sw, _ in sizes) + 2 * pad
    bar_h = round(10 * u) if hold_frac is not None else 0
    height = sum(sh + pad for _, sh in sizes) + pad + (bar_h + pad if bar_h else 0)
    _panel(img, round(8 * u), round(8 * u), round(8 * u) + width, round(8 * u) + height)
    y = round(8 * u)
    for (t, s, c), (_, sh) in zip(lines, sizes):
        y += sh + pad
        _text(img, t, (round(8 * u) + pad, y), s * u, c, th)
    if hold_frac is not None:
        y += pad
        x0 = round(8 * u) + pad
        x1 = round(8 * u) + width - pad
        cv2.rectangle(img, (x0, y), (x1, y + bar_h), (90, 90, 90), -1)
        cv2.rectangle(img, (x0, y), (x0 + int((x1 - x0) * hold_frac), y + bar_h), _GREEN, -1)


def _draw_banners(img: np.ndarray, state: OverlayState, u: float) -> None:
    w = img.shape[1]
    order = {"harmful": 0, "warning": 1, "info": 2}
    y = round(10 * u)
    th = max(1, round(2 * u))
    for banner in sorted(state.faults, key=lambda f: order[f.severity])[:3]:
        text = ("STOP: " if banner.severity == "harmful" else "") + banner.message
        scale = 0.75 * u
        (tw, tht), _ = cv2.getTextSize(text, _FONT, scale, th)
        while tw > w * 0.6 and scale > 0.35 * u:
            scale *= 0.9
            (tw, tht), _ = cv2.getTextSize(text, _FONT, scale, th)
        pad = round(10 * u)
        x0 = (w - tw) // 2 - pad
        _panel(img, x0, y, x0 + tw + 2 * pad, y + tht + 2 * pad, _SEVERITY_COLOUR[banner.severity], alpha=0.85)
        _text(img, text, (x0 + pad, y + tht + pad), scale, _WHITE, th)
        y += tht + 2 * pad + round(6 * u)


def _draw_bottom(img: np.ndarray, text: str, colour: tuple[int, int, int], u: float, row: int) -> None:
    h, w = img.shape[:2]
    th = max(1, round(2 * u))
    scale = 0.8 * u
    (tw, tht), _ = cv2.getTextSize(text, _FONT, scale, th)
    while tw > w * 0.9 and scale > 0.35 * u:
        scale *= 0.9
        (tw, tht), _ = cv2.getTextSize(text, _FONT, scale, th)
    pad = round(10 * u)
    y1 = h - round(12 * u) - row * (tht + 3 * pad)
    x0 = (w - tw) // 2 - pad
    _panel(img, x0, y1 - tht - 2 * pad, x0 + tw + 2 * pad, y1)
    _text(img, text, (x0 + pad, y1 - pad), scale, colour, th)


def draw_overlay(image_bgr: np.ndarray, frame: PoseFrame | None, state: OverlayState, *,
                 inplace: bool = False, min_visibility: float = 0.5) -> np.ndarray:
    """Draw the coaching overlay and return the image (a copy unless ``inplace``).

    ``frame`` landmarks are in pixels of ``frame.image_size``; they are scaled to the image given, so a
    downscaled image can be annotated with full-resolution landmarks. Landmarks with visibility below
    ``min_visibility`` are not drawn. ``frame`` may be None or empty (no person).
    """
    img = np.asarray(image_bgr)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise OptionsError("image_bgr", "(H, W, 3) uint8 BGR image", f"{img.shape} {img.dtype}")
    if not 0.0 <= min_visibility <= 1.0:
        raise OptionsError("min_visibility", "0..1", min_visibility)
    if not inplace:
        img = img.copy()
    h, w = img.shape[:2]
    u = max(0.5, min(h, w) / 720.0)  # unit: 1 at 720p

    band = state.in_band
    colour = _GREEN if band else _AMBER if band is False else _WHITE
    if frame is not None and frame.found:
        pts = _points(frame, (h, w), min_visibility)
        _draw_skeleton(img, pts, u)
        joint = joint_for_measure(state.measure_name, frame)
        if joint is not None:
            _draw_joint(img, pts, joint, state, colour, u)
    if state.measure_name:
        _draw_gauge(img, state, colour, u)
    _draw_counters(img, state, u)
    _draw_banners(img, state, u)
    row = 0
    if state.cue:
        _draw_bottom(img, state.cue, _WHITE, u, row)
        row += 1
    status = state.status
    if status is None and frame is not None and not frame.found:
        status = "No person in view - step back so your whole body is visible"
    if status:
        _draw_bottom(img, status, _AMBER, u, row)
    return img


class OverlayStateBuilder:
    """Turns the exercise engine's events into the :class:`OverlayState` of each frame.

    Stateful (it remembers the rep count, the running hold and the faults in progress), with the
    shared verb: ``update(events, t, measure_value) -> OverlayState`` and ``reset()``. Used by the
    annotated video and by live coaching, so both show the same thing.
    """

    def __init__(self, *, title: str | None = None, measure_name: str | None = None,
                 measure_label: str | None = None, unit: str = "deg", target_min: float | None = None,
                 target_max: float | None = None, gauge_min: float = 0.0, gauge_max: float = 180.0,
                 reps_target: int | None = None, hold_target_s: float | None = None, cue_s: float = 3.0,
                 show_clock: bool = True) -> None:
        if cue_s <= 0:
            raise OptionsError("cue_s", "> 0", cue_s)
        self._static = dict(title=title, measure_name=measure_name, measure_label=measure_label, unit=unit,
                            target_min=target_min, target_max=target_max, gauge_min=gauge_min,
                            gauge_max=gauge_max, reps_target=reps_target, hold_target_s=hold_target_s)
        self.cue_s = cue_s
        self.show_clock = show_clock
        self.reset()

    def reset(self) -> None:
        self.rep_counts: dict[str | None, int] = {}
        self._last_side: str | None = None
        self._hold_acc = 0.0
        self._hold_since: float | None = None  # running since (None: paused or no hold)
        self._hold_on = False
        self._faults: dict[tuple[str, str | None], FaultBanner] = {}
        self._cue: tuple[str, float] | None = None
        self._status: str | None = None

    def update(self, events: list | tuple, t: float, measure_value: float = float("nan")) -> OverlayState:
        for ev in events:
            kind = str(getattr(ev, "kind", ""))
            side = getattr(ev, "side", None)
            data = getattr(ev, "data", None) or {}
            msg = getattr(ev, "message", None)
            if kind == "rep_completed":
                self.rep_counts[side] = self.rep_counts.get(side, 0) + 1
                self._last_side = side
            elif kind == "rep_started":
                self._last_side = side
            elif kind == "hold_started":
                self._hold_on, self._hold_acc, self._hold_since = True, 0.0, ev.t
            elif kind == "hold_paused" and self._hold_on and self._hold_since is not None:
                self._hold_acc += ev.t - self._hold_since
                self._hold_since = None
            elif kind == "hold_resumed" and self._hold_on:
                self._hold_since = ev.t
            elif kind == "hold_progress" and self._hold_on:
                held = data.get("held_s", data.get("elapsed_s"))
                if isinstance(held, (int, float)) and math.isfinite(held) and self._hold_since is not None:
                    self._hold_acc, self._hold_since = float(held), ev.t
            elif kind in ("hold_broken", "hold_ended"):
                self._hold_on, self._hold_since, self._hold_acc = False, None, 0.0
            elif kind == "fault_raised":
                fid = str(data.get("id", data.get("fault", msg or "fault")))
                sev = str(data.get("severity", "warning"))
                if sev not in _SEVERITY_COLOUR:
                    sev = "warning"
                self._faults[(fid, side)] = FaultBanner(msg or fid.replace("_", " "), sev)  # type: ignore[arg-type]
            elif kind == "fault_cleared":
                fid = str(data.get("id", data.get("fault", msg or "fault")))
                self._faults.pop((fid, side), None)
            elif kind == "cue" and msg:
                self._cue = (msg, ev.t)
            elif kind == "not_visible":
                self._status = msg or "Move so that your whole body is visible"
            elif kind == "wrong_view":
                self._status = msg or "Turn so that the camera sees you from the side"
            elif kind == "visible":
                self._status = None
        hold_elapsed = None
        if self._hold_on:
            hold_elapsed = self._hold_acc + (t - self._hold_since if self._hold_since is not None else 0.0)
        cue = self._cue[0] if self._cue and t - self._cue[1] <= self.cue_s else None
        side = self._last_side
        count = self.rep_counts.get(side, 0) if side is not None else sum(self.rep_counts.values())
        return OverlayState(
            **self._static,  # type: ignore[arg-type]
            measure_value=float(measure_value) if measure_value is not None else float("nan"),
            rep_count=count, hold_elapsed_s=hold_elapsed, hold_paused=self._hold_on and self._hold_since is None,
            cue=cue, faults=tuple(self._faults.values()),
            status=self._status, time_s=t if self.show_clock else None,
        )
