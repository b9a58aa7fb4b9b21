"""The back contour of the torso from a person segmentation mask (side view), and a lumbar curve measure.

BlazePose has no spine landmarks: shoulders and hips only. In a side view the person's silhouette shows
the back, and the shape of its outline between the buttocks and the shoulder blades is the visible part of
the lumbar lordosis. This module is pure (no model): it takes a ``(H, W)`` mask (probabilities in [0, 1],
e.g. :attr:`formcheck.keypoints.PoseFrame.segmentation`) and the frame's image landmarks, and

* :func:`back_profile` samples the back outline: for stations ``s`` along the hip→shoulder line
  (``s = 0`` at the hip midpoint, ``1`` at the shoulder midpoint, negative below the hips, where the
  buttocks are), the distance from that line to the edge of the mask on the back side, in torso lengths.
  Which side is the back comes from the body's facing direction: the nose and the knees are in front of
  the shoulder–hip line standing, sitting, squatting, lying supine or prone and on all fours.
* :func:`lumbar_curve` turns it into one number: the mean depth of the lumbar part of the outline
  (``s`` in :data:`LUMBAR`) below the chord from the most posterior point of the buttocks to the most
  posterior point of the upper back, in **% of torso length**. ``+`` = the low back is hollow (lordotic),
  ``0`` = flat, ``-`` = rounded (flexed). Measuring against the chord makes it independent of where exactly
  the shoulder and hip landmarks sit on the body (a shift or tilt of the reference line adds a linear term
  to the profile, which the chord removes).

* :class:`LumbarReference` / :func:`lumbar_flattening`: how much flatter than the person's own recent
  resting curve (the absolute value depends on the body), streaming and causal.

NaN (never an error) when the mask or a needed landmark is missing, the view is not a side view, the
facing direction cannot be decided, or too little of the outline is found. Limits: loose clothing, long
hair, an arm or a hand behind the back, a support (wall, bed) merged into the mask and a body seen
obliquely all change the outline; the figure is a silhouette curvature, not a spinal angle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from formcheck.errors import FieldError
from formcheck.landmarks import Landmark
from formcheck.resting import RestingReference

log = logging.getLogger(__name__)

__all__ = ["BUTTOCK", "LUMBAR", "THORACIC", "BackProfile", "LumbarReference", "back_profile", "curve_from_profile",
           "facing_sign", "lumbar_curve", "lumbar_curve_sequence", "lumbar_flattening"]

#: Stations (fractions of the hip→shoulder line) searched for the most posterior point of the buttocks.
BUTTOCK = (-0.25, 0.10)
#: Stations averaged for the lumbar depth.
LUMBAR = (0.15, 0.50)
#: Stations searched for the most posterior point of the upper (thoracic) back.
THORACIC = (0.55, 0.95)

_STATIONS = np.round(np.arange(-0.25, 1.0001, 0.025), 4)
_VIS = 0.5
_MIN_TORSO_PX = 24.0  # below this the outline is a few pixels deep: not measurable
_MAX_WIDTH_RATIO = 0.45  # shoulder width / torso length; side ~0-0.3, oblique 0.3-0.55, front ~0.7
_MIN_FACING = 0.08  # |nose + knee offset| in torso lengths needed to know where the back is
_MAX_DEPTH = 0.8  # search the back edge this far from the line (torso lengths)


@dataclass(frozen=True)
class BackProfile:
    """The back outline of one frame: ``depth[i]`` is the distance (torso lengths) from the hip→shoulder
    line to the back edge of the mask at station ``s[i]`` (NaN where no edge was found)."""

    s: np.ndarray  # (N,) stations along the hip->shoulder line
    depth: np.ndarray  # (N,) torso lengths, NaN where not found
    hip: np.ndarray  # (2,) pixels
    shoulder: np.ndarray  # (2,) pixels
    back: np.ndarray  # (2,) unit vector pointing out of the back

    @property
    def torso_px(self) -> float:
        return float(np.linalg.norm(self.shoulder - self.hip))

    def points(self) -> np.ndarray:
        """(N, 2) pixel coordinates of the back outline (NaN where not found), e.g. for an overlay."""
        axis = self.hip[None] + self.s[:, None] * (self.shoulder - self.hip)[None]
        return axis + (self.depth * self.torso_px)[:, None] * self.back[None]


def _point(xyz: np.ndarray, vis: np.ndarray, *lms: Landmark) -> np.ndarray | None:
    """Mean 2D position of the visible ones among ``lms`` (None when none is visible)."""
    pts = [xyz[int(i), :2] for i in lms if vis[int(i)] >= _VIS and np.isfinite(xyz[int(i), :2]).all()]
    return np.mean(pts, axis=0) if pts else None


def _side_torso(xyz: np.ndarray, vis: np.ndarray, max_width_ratio: float
                ) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Shoulder and hip midpoints and the torso length (pixels) of a body seen from the side; None when
    a shoulder/hip is hidden, the torso is too small, or the shoulders are too wide apart for a side view
    (a front or oblique view: the outline there is not the back)."""
    sh = _point(xyz, vis, Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    hp = _point(xyz, vis, Landmark.LEFT_HIP, Landmark.RIGHT_HIP)
    if sh is None or hp is None:
        return None
    L = float(np.linalg.norm(sh - hp))
    if not L >= _MIN_TORSO_PX:
        return None
    ls, rs = xyz[int(Landmark.LEFT_SHOULDER), :2], xyz[int(Landmark.RIGHT_SHOULDER), :2]
    width = float(np.linalg.norm(ls - rs))
    if np.isfinite(width) and width / L > max_width_ratio:
        return None
    return sh, hp, L


def back_visible(xyz: np.ndarray, visibility: np.ndarray, max_width_ratio: float = _MAX_WIDTH_RATIO) -> bool:
    """Whether these landmarks (33, 2|3 pixels) can have a measurable back outline at all (a side view of
    a visible torso). The pose engine skips the segmentation head when not: a front view costs no mask."""
    vis = np.nan_to_num(np.asarray(visibility, dtype=np.float64), nan=0.0)
    return _side_torso(np.asarray(xyz, dtype=np.float64), vis, max_width_ratio) is not None


def _check_inputs(mask: np.ndarray, xyz: np.ndarray, visibility: np.ndarray) -> tuple[np.ndarray, ...]:
    mask = np.asarray(mask, dtype=np.float32)
    if mask.ndim != 2:
        raise FieldError("mask", "an (H, W) array", mask.shape, where="contour")
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[0] != len(Landmark) or xyz.shape[1] < 2:
        raise FieldError("xyz", f"shape ({len(Landmark)}, 2 or 3) in pixels", xyz.shape, where="contour")
    vis = np.nan_to_num(np.asarray(visibility, dtype=np.float64), nan=0.0)
    if vis.shape != (len(Landmark),):
        raise FieldError("visibility", f"shape ({len(Landmark)},)", vis.shape, where="contour")
    return mask, xyz, vis


def facing_sign(xyz: np.ndarray, visibility: np.ndarray) -> float:
    """+1 when the front of the body is on the left of the hip→shoulder direction (image coordinates,
    y down: the normal ``(u_y, -u_x)``), -1 when on the right, NaN when undecided. Uses the nose (in front
    of the shoulder line in any posture) and the knees (in front of the hip line whenever the hips are
    flexed), whichever are visible."""
    _, xyz, vis = _check_inputs(np.zeros((1, 1)), xyz, visibility)
    return _facing(xyz, vis)


def _facing(xyz: np.ndarray, vis: np.ndarray) -> float:
    sh = _point(xyz, vis, Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    hp = _point(xyz, vis, Landmark.LEFT_HIP, Landmark.RIGHT_HIP)
    if sh is None or hp is None:
        return float("nan")
    u = sh - hp
    L = float(np.linalg.norm(u))
    if not L > 0:
        return float("nan")
    u = u / L
    n = np.array([u[1], -u[0]])
    score = 0.0
    nose = _point(xyz, vis, Landmark.NOSE)
    if nose is not None:
        score += float(np.dot(nose - sh, n)) / L
    knee = _point(xyz, vis, Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE)
    if knee is not None:
        score += float(np.dot(knee - hp, n)) / L
    if abs(score) < _MIN_FACING:
        return float("nan")
    return 1.0 if score > 0 else -1.0


def back_profile(mask: np.ndarray | None, xyz: np.ndarray, visibility: np.ndarray, *,
                 threshold: float = 0.5, max_width_ratio: float = _MAX_WIDTH_RATIO) -> BackProfile | None:
    """The back outline of the torso in one side-view frame (see the module docstring), or None when it
    cannot be measured (no mask, hidden shoulders/hips, a torso under 24 px, not a side view, facing
    direction undecided, or the line between hips and shoulders not inside the mask).

    ``mask``: (H, W) person probability; ``xyz``: (33, 2|3) image landmarks in pixels of that mask;
    ``visibility``: (33,). ``threshold``: mask level of the outline. ``max_width_ratio``: largest
    shoulder width / torso length accepted as a side view (0.45 lets through a slightly oblique view)."""
    if mask is None:
        return None
    if not 0.0 < threshold < 1.0:
        raise FieldError("threshold", "a mask level in (0, 1)", threshold, where="back_profile")
    mask, xyz, vis = _check_inputs(mask, xyz, visibility)
    torso = _side_torso(xyz, vis, max_width_ratio)
    if torso is None:
        return None
    sh, hp, L = torso
    side = _facing(xyz, vis)
    if not np.isfinite(side):
        return None
    u = (sh - hp) / L
    back = -side * np.array([u[1], -u[0]])
    # sample the mask along rays from the line towards the back, half a pixel apart
    step = 0.5
    t = np.arange(0.0, _MAX_DEPTH * L + step, step)
    axis = hp[None] + _STATIONS[:, None] * L * u[None]  # (N, 2)
    pts = axis[:, None, :] + t[None, :, None] * back[None, None, :]  # (N, K, 2)
    v = _sample(mask, pts[..., 0], pts[..., 1])  # (N, K)
    inside = v >= threshold
    if inside[:, 0].mean() < 0.6:
        return None  # the hip-shoulder line is mostly outside the mask: a weak or misplaced mask
    out = ~inside
    out[:, 0] = False
    first = np.where(out.any(axis=1), out.argmax(axis=1), -1)
    depth = np.full(len(_STATIONS), np.nan)
    ok = (first > 0) & inside[:, 0]
    # the edge only counts if the ray stayed inside up to it (argmax finds the first outside sample)
    k = first[ok]
    rows = np.nonzero(ok)[0]
    v0, v1 = v[rows, k - 1], v[rows, k]
    frac = np.clip((v0 - threshold) / np.maximum(v0 - v1, 1e-6), 0.0, 1.0)
    depth[rows] = (t[k - 1] + frac * step) / L
    return BackProfile(_STATIONS.copy(), depth, hp, sh, back)


def _sample(mask: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear mask values at (x, y) pixel centres; 0 outside the image."""
    import cv2

    return cv2.remap(mask, x.astype(np.float32), y.astype(np.float32), interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def _window(p: BackProfile, lo_hi: tuple[float, float]) -> np.ndarray:
    return (p.s >= lo_hi[0] - 1e-9) & (p.s <= lo_hi[1] + 1e-9)


def curve_from_profile(p: BackProfile | None) -> float:
    """:func:`lumbar_curve` of an already sampled profile."""
    if p is None:
        return float("nan")
    d = p.depth
    wins = [_window(p, w) for w in (BUTTOCK, LUMBAR, THORACIC)]
    if any(np.isfinite(d[w]).sum() < 0.7 * w.sum() for w in wins):
        return float("nan")  # too much of the outline missing
    ib, il, it = wins
    bi = np.nonzero(ib)[0][np.nanargmax(d[ib])]
    ti = np.nonzero(it)[0][np.nanargmax(d[it])]
    s0, d0, s1, d1 = p.s[bi], d[bi], p.s[ti], d[ti]
    s = p.s[il]
    chord = d0 + (s - s0) * (d1 - d0) / (s1 - s0)
    return float(100.0 * np.nanmean(chord - d[il]))


def lumbar_curve(mask: np.ndarray | None, xyz: np.ndarray, visibility: np.ndarray, *,
                 threshold: float = 0.5, max_width_ratio: float = _MAX_WIDTH_RATIO) -> float:
    """Lumbar curve of one side-view frame, in % of torso length: mean depth of the lumbar outline below
    the buttock–upper-back chord; ``+`` hollow (lordotic), ``-`` rounded (flexed); NaN when it cannot be
    measured (see :func:`back_profile`)."""
    return curve_from_profile(back_profile(mask, xyz, visibility, threshold=threshold,
                                           max_width_ratio=max_width_ratio))


def lumbar_curve_sequence(masks, xyz: np.ndarray, visibility: np.ndarray, **kw) -> np.ndarray:
    """(T,) :func:`lumbar_curve` of T frames (``masks`` is any iterable of T masks or None)."""
    xyz = np.asarray(xyz)
    visibility = np.asarray(visibility)
    out = np.full(xyz.shape[0], np.nan, np.float32)
    for i, m in enumerate(masks):
        out[i] = lumbar_curve(m, xyz[i], visibility[i], **kw)
    return out


# ------------------------------------------------------------------------------------------------
# Flattening relative to the person's own resting curve
# ------------------------------------------------------------------------------------------------

#: The resting curve is the highest 1-s running median of the last 10 s (a hold of the flattened back
#: shorter than that stays measurable against the rest before it).
REFERENCE_WINDOW_S = 10.0
SMOOTH_WINDOW_S = 1.0


class LumbarReference(RestingReference):
    """How much flatter the low back is than the person's own recent resting curve:
    ``update(curve, t) -> flattening`` (% torso length, + = flatter/rounder than at rest).

    The absolute :func:`lumbar_curve` depends on the body (buttock and back shape, clothing: resting
    values of 5.5–7 % on the rendered fixtures), while a posterior pelvic tilt or a bracing lowers it by
    ~1 % of torso length. The reference is the maximum, over the last :data:`REFERENCE_WINDOW_S`, of
    the curve's running median over :data:`SMOOTH_WINDOW_S` (the median rejects one-frame mask glitches
    and most noise); it suits exercises whose rest is the most lordotic posture (pelvic tilt, abdominal
    bracing). O(smoothing window) per frame, causal: the live coach and the recorded analysis give the same
    values (:func:`lumbar_flattening` runs this class over a sequence). NaN frames are skipped; the
    output is NaN where the curve is NaN or no reference exists yet. The machinery is
    :class:`formcheck.resting.RestingReference` (shared with the trunk line's ``trunk_line_drop``)."""

    def __init__(self, window_s: float = REFERENCE_WINDOW_S, smooth_s: float = SMOOTH_WINDOW_S) -> None:
        super().__init__(window_s, smooth_s)


def lumbar_flattening(curve: np.ndarray, t: np.ndarray, window_s: float = REFERENCE_WINDOW_S,
                      smooth_s: float = SMOOTH_WINDOW_S) -> np.ndarray:
    """(T,) :class:`LumbarReference` flattening of a lumbar-curve series taken at times ``t`` (s)."""
    curve = np.asarray(curve, np.float64)
    t = np.asarray(t, np.float64)
    if curve.shape != t.shape or curve.ndim != 1:
        raise FieldError("curve", f"a (T,) series matching t {t.shape}", curve.shape, where="lumbar_flattening")
    ref = LumbarReference(window_s, smooth_s)
    return np.array([ref.update(c, ti) for c, ti in zip(curve, t)], np.float32)
