"""Setup guidance before counting starts: whole body in view, camera view, distance, lighting.

``check_setup`` is a pure function of one :class:`~formcheck.keypoints.PoseFrame` (plus the frame's
mean brightness); :class:`SetupGuide` adds time: the setup must stay right for ``stable_s`` seconds,
then a ``countdown_s`` countdown runs (and restarts if the setup breaks) before counting begins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from formcheck.errors import OptionsError
from formcheck.keypoints import PoseFrame
from formcheck.landmarks import Landmark as L

# Landmarks that must be in view for "whole body": head, and at least one of each left/right pair
# (in a side view the far limbs are hidden by the near ones).
_HEAD = (L.NOSE, L.LEFT_EAR, L.RIGHT_EAR)
_PAIRS = {
    "shoulders": (L.LEFT_SHOULDER, L.RIGHT_SHOULDER),
    "hips": (L.LEFT_HIP, L.RIGHT_HIP),
    "knees": (L.LEFT_KNEE, L.RIGHT_KNEE),
    "feet": (L.LEFT_ANKLE, L.RIGHT_ANKLE),
}

MESSAGES = {
    "no_person": "Step into the camera's view so your whole body can be seen.",
    "head": "Your head is out of view: move back a little or tilt the camera up.",
    "shoulders": "Your shoulders are out of view: move back from the camera.",
    "hips": "Your hips are out of view: move back from the camera.",
    "knees": "Your knees are out of view: move back or tilt the camera down.",
    "feet": "Your feet are out of view: move back or tilt the camera down.",
    "too_far": "Come closer to the camera.",
    "too_close": "Move a little further from the camera.",
    "view_side": "Turn side-on to the camera (the camera should see you from the side).",
    "view_front": "Face the camera (it should see you from the front).",
    "too_dark": "The room is too dark: turn on a light or face a window.",
    "too_bright": "Too much light behind you: avoid standing with a window behind you.",
}


@dataclass(frozen=True)
class SetupOptions:
    min_visibility: float = 0.5
    edge_margin: float = 0.01  # fraction of the image a landmark must stay inside
    min_extent: float = 0.35  # body extent (largest side of its box) as a fraction of the image
    max_extent: float = 0.97
    side_ratio: float = 0.45  # shoulder width / torso length below this = side view
    front_ratio: float = 0.55  # above this = front view
    min_brightness: float = 45.0  # mean grey level 0-255
    max_brightness: float = 225.0
    stable_s: float = 1.0  # setup must stay right this long before the countdown
    countdown_s: float = 3.0

    def __post_init__(self) -> None:
        for name in ("min_visibility", "edge_margin", "min_extent", "max_extent"):
            v = getattr(self, name)
            if not (0 <= v <= 1):
                raise OptionsError(name, "a fraction in [0, 1]", v)
        if self.min_extent >= self.max_extent:
            raise OptionsError("min_extent", f"less than max_extent ({self.max_extent})", self.min_extent)
        for name in ("stable_s", "countdown_s"):
            if getattr(self, name) < 0:
                raise OptionsError(name, "seconds >= 0", getattr(self, name))


@dataclass(frozen=True)
class SetupIssue:
    code: str
    message: str


@dataclass(frozen=True)
class SetupCheck:
    issues: tuple[SetupIssue, ...]
    view: str | None  # "side" | "front" | "oblique" | None (no person)
    extent: float  # body extent as a fraction of the image
    brightness: float

    @property
    def ok(self) -> bool:
        return not self.issues


def frame_brightness(image_bgr: np.ndarray) -> float:
    """Mean grey level (0–255) of a frame, on a subsample (cheap: a few hundred µs at 720p)."""
    small = image_bgr[::8, ::8]
    if small.ndim == 3:
        small = small[..., 1] * 0.587 + small[..., 2] * 0.299 + small[..., 0] * 0.114
    return float(np.mean(small))


def _in_view(frame: PoseFrame, idx: int, opts: SetupOptions) -> bool:
    w, h = frame.image_size
    x, y = frame.xyz[idx, 0], frame.xyz[idx, 1]
    vis = frame.visibility[idx]
    if not (np.isfinite(x) and np.isfinite(y)):
        return False
    if np.isfinite(vis) and vis < opts.min_visibility:
        return False
    mx, my = opts.edge_margin * w, opts.edge_margin * h
    return bool(mx <= x <= w - mx and my <= y <= h - my)


def _view_ratio(frame: PoseFrame) -> float:
    p = frame.xyz[:, :2]
    sh = p[L.LEFT_SHOULDER] - p[L.RIGHT_SHOULDER]
    torso = np.linalg.norm((p[L.LEFT_SHOULDER] + p[L.RIGHT_SHOULDER]) / 2 - (p[L.LEFT_HIP] + p[L.RIGHT_HIP]) / 2)
    return float(np.linalg.norm(sh) / torso) if torso > 1e-3 else float("nan")


def camera_view(frame: PoseFrame, options: SetupOptions | None = None) -> str | None:
    """"side", "front" or "oblique" from the shoulder width relative to the torso length (pixels)."""
    opts = options or SetupOptions()
    ratio = _view_ratio(frame)
    if not np.isfinite(ratio):
        return None
    return "front" if ratio >= opts.front_ratio else "side" if ratio <= opts.side_ratio else "oblique"


def check_setup(frame: PoseFrame, required_view: str | None = None, brightness: float | None = None,
                options: SetupOptions | None = None) -> SetupCheck:
    """What (if anything) is wrong with the camera setup in this frame, most important first."""
    opts = options or SetupOptions()
    issues: list[SetupIssue] = []
    bright = float("nan") if brightness is None else float(brightness)
    if np.isfinite(bright) and bright < opts.min_brightness:
        issues.append(SetupIssue("too_dark", MESSAGES["too_dark"]))
    elif np.isfinite(bright) and bright > opts.max_brightness:
        issues.append(SetupIssue("too_bright", MESSAGES["too_bright"]))
    if not frame.found:
        return SetupCheck((SetupIssue("no_person", MESSAGES["no_person"]), *issues), None, 0.0, bright)

    if not any(_in_view(frame, i, opts) for i in _HEAD):
        issues.append(SetupIssue("head", MESSAGES["head"]))
    for name, pair in _PAIRS.items():
        if not any(_in_view(frame, i, opts) for i in pair):
            issues.append(SetupIssue(name, MESSAGES[name]))

    w, h = frame.image_size
    pts = frame.xyz[:, :2]
    vis = frame.visibility
    ok = np.isfinite(pts).all(axis=1) & (~np.isfinite(vis) | (vis >= opts.min_visibility))
    extent = 0.0
    if ok.sum() >= 2:
        span = pts[ok].max(axis=0) - pts[ok].min(axis=0)
        extent = float(max(span[0] / w, span[1] / h))
    cut_off = any(i.code in _PAIRS or i.code == "head" for i in issues)
    if extent < opts.min_extent and not cut_off:
        issues.append(SetupIssue("too_far", MESSAGES["too_far"]))
    elif extent > opts.max_extent:
        issues.append(SetupIssue("too_close", MESSAGES["too_close"]))

    view = camera_view(frame, opts)
    if required_view in ("side", "front") and view is not None and view != required_view:
        issues.append(SetupIssue(f"view_{required_view}", MESSAGES[f"view_{required_view}"]))
    return SetupCheck(tuple(issues), view, extent, bright)


@dataclass
class SetupStatus:
    phase: str  # "guiding" | "countdown" | "ready"
    check: SetupCheck | None
    countdown: float | None = None  # seconds left when phase == "countdown"

    @property
    def ready(self) -> bool:
        return self.phase == "ready"

    @property
    def message(self) -> str:
        if self.phase == "ready":
            return "Go!"
        if self.phase == "countdown":
            return f"Hold still... starting in {int(np.ceil(self.countdown or 0))}"
        if self.check is not None and self.check.issues:
            return self.check.issues[0].message
        return "Good, hold that position."


@dataclass
class SetupGuide:
    """Stateful setup guidance: ``update(frame, t, brightness) -> SetupStatus``."""

    required_view: str | None = None
    options: SetupOptions = field(default_factory=SetupOptions)

    def __post_init__(self) -> None:
        if self.required_view not in (None, "any", "side", "front"):
            raise OptionsError("required_view", "'side', 'front' or 'any'", self.required_view)
        self.reset()

    def reset(self) -> None:
        self._ok_since: float | None = None
        self._ready = False
        self.observed_view: str | None = None  # the camera view seen when the setup was right

    def update(self, frame: PoseFrame, t: float, brightness: float | None = None) -> SetupStatus:
        if self._ready:
            return SetupStatus("ready", None)
        chk = check_setup(frame, self.required_view, brightness, self.options)
        if not chk.ok:
            self._ok_since = None
            return SetupStatus("guiding", chk)
        if self._ok_since is None:
            self._ok_since = t
        self.observed_view = chk.view
        waited = t - self._ok_since
        if waited < self.options.stable_s:
            return SetupStatus("guiding", chk)
        left = self.options.stable_s + self.options.countdown_s - waited
        if left > 0:
            return SetupStatus("countdown", chk, left)
        self._ready = True
        return SetupStatus("ready", chk)
