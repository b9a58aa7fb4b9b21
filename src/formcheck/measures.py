"""Vectorized body measures: joint angles, segment inclinations, normalised heights, view cues.

Every measure is computed for a whole sequence at once (numpy over ``(T, 33, 3)``) and returns a
``(T,)`` float array, **NaN wherever a landmark it needs is hidden** (visibility below the
threshold, or no person) — never a made-up value. One frame is just a sequence of length one
(:func:`frame_measures`).

Conventions
-----------
* Angles are in degrees, in the clinical convention: a straight joint has **flexion 0**.
* Gravity: both the image (pixels) and BlazePose world landmarks (metres) have **y pointing down**,
  so "up" is ``-y`` in either space. The camera is assumed level (a phone propped at an angle
  tilts every inclination by the same amount).
* ``space="image"`` uses pixel x/y only (BlazePose image depth is not reliable); ``"world"`` uses
  the 3D world landmarks; ``"auto"`` picks image space when the camera sees the patient from the
  side (sagittal angles are true there) and world space otherwise. Frontal-plane measures
  (``knee_valgus_*``) are always computed from the image, and are meaningful in a front view only.
* Sided measures exist as ``<name>_left`` / ``<name>_right``; the bare ``<name>`` is the value of
  the **more visible side** in each frame (the near side in a side view).
* ``<measure>_velocity`` gives the time derivative (deg/s or units/s) of any measure.

Measures (``MEASURES`` holds the same list with a one-line description each):

=========================  =====================================================================
``knee_flexion_*``         180° − angle(hip, knee, ankle); 0 straight knee, 90 right angle
``hip_flexion_*``          180° − angle(shoulder, hip, knee); 0 trunk and thigh in line
``ankle_dorsiflexion_*``   90° − angle(shank, foot); + toes toward the shin, − pointed (plantar)
``elbow_flexion_*``        180° − angle(shoulder, elbow, wrist)
``shoulder_flexion_*``     angle between trunk (shoulder→hip) and upper arm; 0 arm at the side,
                           90 arm forward, 180 overhead
``thigh_inclination_*``    angle of hip→knee to the floor (horizontal), 0..90
``thigh_elevation_*``      signed angle of hip→knee above the horizontal (+ knee above hip)
``shank_inclination_*``    angle of knee→ankle to the floor, 0..90
``leg_elevation_*``        signed angle of hip→ankle above the horizontal (+ foot above hip)
``arm_elevation_*``        signed angle of shoulder→wrist above the horizontal
``diagonal_reach_*``       bird-dog reach: the * arm's flexion (90→170°) or the other leg's lift (thigh
                           −60→0° above horizontal), whichever reads further, % of a full reach
``heel_height_*``          heel height above the floor (lowest visible body point), in leg lengths
``heel_height_cm_*``       the same in estimated centimetres (leg length from world landmarks)
``knee_flexion_max``       the more bent knee, whichever side BlazePose labels it (a lying body's
                           legs are sometimes swapped: heel slides count on this)
``heel_height_max``        the higher heel above the floor, in leg lengths, whichever side
``knee_valgus_*``          frontal-plane projection angle; + knee falls inside the hip–ankle line
``knee_over_toe_*``        how far the knee is ahead of the toes, in leg lengths (+ = past toes)
``trunk_inclination``      angle of hip-mid→shoulder-mid from vertical; 0 upright, 90 lying
``trunk_to_horizontal``    signed angle of the trunk above the horizontal (+ shoulders higher)
``hip_lift``               hip height above the floor (lowest visible point), in leg lengths
``body_line``              plank line: deviation of shoulder–hip–ankle from straight, degrees,
                           + = hips sag below the line, − = hips piked above it
``bridge_line``            bridge line: deviation of shoulder–hip–knee from straight, degrees,
                           + = hips pushed above the line (lumbar hyperextension), − = below
``pelvis_tilt``            angle of the left→right hip line to the horizontal plane (drop/roll)
``shoulder_tilt``          the same for the shoulders
``trunk_twist``            angle between the hip line and the shoulder line (world space)
``shoulder_width_ratio``   shoulder width / trunk length in the image: ~0 side view, ~0.7 front
``lumbar_curve``           depth of the lumbar back outline below the buttock–upper-back chord, % of
                           trunk length (+ hollow/lordotic, − rounded); side view, from the
                           segmentation mask (formcheck.contour); NaN unless the pose engine ran with
                           ``PoseOptions(lumbar_curve=True)``
``lumbar_flattening``      how much lower lumbar_curve is than the person's own resting curve (the
                           highest 1-s median of the last 10 s), % trunk length; + = flatter. Needs
                           history: a sequence or StreamingMeasures (NaN from frame_measures)
``trunk_line_drop``        how far trunk_to_horizontal is below the person's own resting level (the
                           highest still 1-s median of the last 10 s), deg; + = lower. A posterior
                           pelvic tilt lying supine reads 1-2 deg. Needs history like lumbar_flattening
``hip_level``              100·ln(hip-mid height above the ankle-mid / shoulder width), image, front view
``hip_drop``               how far hip_level is below the person's own standing level (the highest
                           still 0.5-s median of the last 20 s), ≈ % of the standing hip height; + =
                           lower. A 45-deg wall squat seen from the front reads ~6-7. Needs history
``ankle_lift``             ankle-mid height above the toe-mid / shoulder width, %, image, front view
``heel_rise``              how far ankle_lift is above the person's own standing level (the lowest
                           still 0.5-s median of the last 20 s), % shoulder width; + = up on the toes.
                           A heel raise seen from the front reads ~8-15. Needs history
=========================  =====================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from formcheck.errors import FieldError, InputError
from formcheck.keypoints import PoseFrame, PoseSequence
from formcheck.landmarks import Landmark

__all__ = [
    "DEFAULT_VISIBILITY",
    "MEASURES",
    "Space",
    "angular_velocity",
    "compute_measures",
    "elevation",
    "estimate_view",
    "flexion",
    "frame_measures",
    "inclination_to_vertical",
    "joint_angle",
    "joint_angles",
    "measure_names",
    "sequence_angles",
    "to_components",
]

Space = Literal["image", "world", "auto"]
DEFAULT_VISIBILITY = 0.5
_RAD = np.float32(180.0 / np.pi)
SIDES = ("left", "right")


# --------------------------------------------------------------------------------------------
# Pure geometric kernels (any leading shape, last axis 2 or 3). All return degrees.
# --------------------------------------------------------------------------------------------

def _angle_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unsigned angle between vectors ``u`` and ``v`` (last axis), degrees in [0, 180].

    Uses atan2(|u×v|, u·v), which stays accurate near 0° and 180° (unlike arccos).
    """
    dot = np.einsum("...i,...i->...", u, v)
    if u.shape[-1] == 2:
        cross = np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    else:
        c = np.cross(u, v)
        cross = np.sqrt(np.einsum("...i,...i->...", c, c))
    return np.arctan2(cross, dot) * _RAD


# The angle core has two backends with one formula: "fused" (formcheck._anglekernel, numba: one pass,
# no temporaries; 3.8x numpy on the component-major layout, 4x straight from (T, 33, 3), see
# tests/bench/test_bench_measures.py) and "numpy" (chunked ufuncs; the fallback without numba). "auto" uses the fused kernel when numba imports and the call has at least
# _FUSED_MIN_EVALS angle evaluations, so a live frame or a short clip never loads numba. numba is
# imported on the first call that needs it, never at import.
AngleBackend = Literal["auto", "fused", "numpy"]
_ANGLE_BACKENDS = ("auto", "fused", "numpy")
_FUSED_MIN_EVALS = 1 << 14  # below this numpy takes < ~0.5 ms: not worth loading numba for
_log = logging.getLogger(__name__)
_fused_module: object = None  # formcheck._anglekernel once imported; False when numba is unavailable


def _fused_kernel():
    """The fused kernel module, imported (with numba) on first use; None when numba is unavailable."""
    global _fused_module
    if _fused_module is None:
        try:
            from formcheck import _anglekernel
        except ImportError as exc:
            _log.info("numba unavailable (%s): the angle core uses numpy", exc)
            _fused_module = False
        else:
            _fused_module = _anglekernel
    return _fused_module or None


def _pick_kernel(backend: str, evals: int):
    """The fused kernel module for this call, or None for the numpy path."""
    if backend not in _ANGLE_BACKENDS:
        raise FieldError("backend", " | ".join(map(repr, _ANGLE_BACKENDS)), backend)
    if backend == "numpy" or (backend == "auto" and evals < _FUSED_MIN_EVALS):
        return None
    kernel = _fused_kernel()
    if kernel is None and backend == "fused":
        raise FieldError("backend", "'auto' or 'numpy' (numba is not installed)", backend)
    return kernel


def _as_float(arr: np.ndarray) -> np.ndarray:
    """float32/float64 arrays as they are (the fused kernel reads either); anything else as float32."""
    a = np.asarray(arr)
    return a if a.dtype in (np.float32, np.float64) else a.astype(np.float32)


def _check_angle_args(shape: tuple[int, ...], name: str, layout: str, lm_axis: int, d_axis: int,
                      triplets: Sequence[tuple[int, int, int]], out: np.ndarray | None,
                      T: int) -> np.ndarray:
    """Validate an angle-core call (the fused kernel does no bounds checks); triplets as (n, 3) int64."""
    if len(shape) != 3 or shape[d_axis] not in (2, 3):
        raise FieldError(name, f"shape {layout} with D = 2 or 3", shape)
    trip = np.asarray(triplets, dtype=np.int64).reshape(-1, 3) if len(triplets) else np.empty((0, 3), np.int64)
    if trip.size and (trip.min() < 0 or trip.max() >= shape[lm_axis]):
        raise FieldError("triplets", f"landmark indices in 0..{shape[lm_axis] - 1}", np.asarray(triplets).tolist())
    if out is not None and (out.shape != (len(trip), T) or out.dtype != np.float32):
        raise FieldError("out", f"float32 array of shape {(len(trip), T)}", f"{out.dtype} {out.shape}")
    return trip


def to_components(points: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """(T, 33, D) landmarks -> contiguous float32 (33, D, T), the layout :func:`joint_angles` streams
    fastest (copied in cache-sized blocks: ~4x faster than one big transposed copy). A plain copy,
    so numpy only: a numba version measured at most 10 % faster (allocating the output dominates)."""
    pts = np.asarray(points, dtype=np.float32)
    if pts.ndim != 3:
        raise FieldError("points", "shape (T, 33, D)", pts.shape)
    T = pts.shape[0]
    out = np.empty((pts.shape[1], pts.shape[2], T), np.float32)
    for s in range(0, T, chunk):
        out[:, :, s:s + chunk] = pts[s:s + chunk].transpose(1, 2, 0)
    return out


def joint_angles(comp: np.ndarray, triplets: Sequence[tuple[int, int, int]], chunk: int = 16384,
                 out: np.ndarray | None = None, *, backend: AngleBackend = "auto") -> np.ndarray:
    """Angles a–b–c (degrees, 180 = straight) for many landmark triplets over a whole sequence.

    ``comp`` is the component-major array from :func:`to_components` (33, D, T) with D = 2 or 3.
    NaN (hidden landmarks) propagates to NaN angles. Returns (len(triplets), T) float32 (into ``out``
    when given). ``backend``: ``"fused"`` (numba, one pass), ``"numpy"`` (cache-sized chunks of
    ``chunk`` frames with preallocated buffers) or ``"auto"`` (fused when numba is installed and the
    call is large enough to gain from it); both give the same angles to float32 rounding.
    """
    comp = np.asarray(comp)
    T = comp.shape[-1] if comp.ndim else 0
    trip = _check_angle_args(comp.shape, "comp", "(33, D, T)", 0, 1, triplets, out, T)
    res = np.empty((len(trip), T), np.float32) if out is None else out
    kernel = _pick_kernel(backend, len(trip) * T)
    if kernel is not None:
        if len(trip) and T:
            kernel.angles_cm(_as_float(comp), trip, res, kernel.COLUMN_BLOCK)
        return res
    return _joint_angles_numpy(comp, trip, chunk, res)


def _joint_angles_numpy(comp: np.ndarray, trip: np.ndarray, chunk: int, res: np.ndarray) -> np.ndarray:
    """The numpy backend of :func:`joint_angles`: cache-sized chunks, preallocated buffers (no
    temporaries per chunk), so it runs at memory speed on one core."""
    _, dims, T = comp.shape
    buf = np.empty((8, min(chunk, max(T, 1))), np.float32)
    deg = np.float32(180.0 / np.pi)
    for row, (i, j, k) in enumerate(trip):
        A, B, C = comp[i], comp[j], comp[k]
        for s in range(0, T, chunk):
            e = min(T, s + chunk)
            m = e - s
            ux, uy, uz, vx, vy, vz, d, t = (buf[q, :m] for q in range(8))
            r = res[row, s:e]
            np.subtract(A[0, s:e], B[0, s:e], out=ux)
            np.subtract(A[1, s:e], B[1, s:e], out=uy)
            np.subtract(C[0, s:e], B[0, s:e], out=vx)
            np.subtract(C[1, s:e], B[1, s:e], out=vy)
            np.multiply(ux, vx, out=d)
            np.multiply(uy, vy, out=t)
            d += t
            if dims == 3:
                np.subtract(A[2, s:e], B[2, s:e], out=uz)
                np.subtract(C[2, s:e], B[2, s:e], out=vz)
                np.multiply(uz, vz, out=t)
                d += t
                np.multiply(uy, vz, out=r)  # |u x v|^2, component by component
                np.multiply(uz, vy, out=t)
                r -= t
                r *= r
                np.multiply(uz, vx, out=t)
                np.multiply(ux, vz, out=vz)
                t -= vz
                t *= t
                r += t
                np.multiply(ux, vy, out=t)
                np.multiply(uy, vx, out=vx)
                t -= vx
                t *= t
                r += t
                np.sqrt(r, out=r)
            else:
                np.multiply(ux, vy, out=r)
                np.multiply(uy, vx, out=t)
                r -= t
                np.abs(r, out=r)
            np.arctan2(r, d, out=r)
            r *= deg
    return res


def sequence_angles(points: np.ndarray, triplets: Sequence[tuple[int, int, int]], chunk: int = 8192,
                    out: np.ndarray | None = None, *, backend: AngleBackend = "auto") -> np.ndarray:
    """Angles a–b–c (degrees) for many triplets straight from (T, 33, D) landmarks (float32 or float64,
    any strides), no layout change. The fused kernel gathers the landmarks the triplets use, a few
    hundred frames at a time, into an L1-resident block and computes from it in the same pass; the
    numpy path processes ``chunk`` frames at a time so its strided reads stay in cache. Same result
    and ``backend`` choice as :func:`joint_angles`."""
    pts = np.asarray(points)
    T = pts.shape[0] if pts.ndim else 0
    trip = _check_angle_args(pts.shape, "points", "(T, 33, D)", 1, 2, triplets, out, T)
    res = np.empty((len(trip), T), np.float32) if out is None else out
    kernel = _pick_kernel(backend, len(trip) * T)
    if kernel is not None:
        if len(trip) and T:
            pts = _as_float(pts)
            uniq = np.unique(trip)
            block = min(kernel.BLOCK, T)
            buf = np.empty((len(uniq), pts.shape[2], block + kernel.PAD), pts.dtype)
            kernel.angles_tm(pts, uniq, np.searchsorted(uniq, trip), res, buf, block, kernel.PREFETCH_AHEAD)
        return res
    pts = np.asarray(pts, dtype=np.float32)
    for s in range(0, T, chunk):
        e = min(T, s + chunk)
        # a (33, D, m) strided view of the chunk: the numpy kernel reads it component by component
        _joint_angles_numpy(pts[s:e].transpose(1, 2, 0), trip, e - s, res[:, s:e])
    return res


def joint_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle a–b–c at vertex ``b`` in degrees (180 = straight), vectorized over leading axes."""
    return _angle_between(a - b, c - b)


def flexion(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Clinical flexion at ``b``: 0 when a, b, c are in line."""
    return 180.0 - joint_angle(a, b, c)


def inclination_to_vertical(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Angle of the segment start→end from straight up (y down convention), degrees in [0, 180]."""
    d = end - start
    horiz = np.sqrt(np.sum(d * d, axis=-1) - d[..., 1] * d[..., 1])
    return np.arctan2(horiz, -d[..., 1]) * _RAD


def elevation(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Signed angle of start→end above the horizontal (y down convention), degrees in [-90, 90]."""
    d = end - start
    horiz = np.sqrt(np.maximum(np.sum(d * d, axis=-1) - d[..., 1] * d[..., 1], 0.0))
    return np.arctan2(-d[..., 1], horiz) * _RAD


def angular_velocity(values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Time derivative of a (T,) measure (units per second); NaN where a neighbour is missing."""
    values = np.asarray(values, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    if values.shape[0] < 2:
        return out
    dv = np.diff(values)
    dt = np.diff(t)
    with np.errstate(invalid="ignore", divide="ignore"):
        fwd = np.where(dt > 0, dv / dt, np.nan)
    # central difference where both neighbours exist, one-sided at the ends / next to gaps
    back = np.concatenate([[np.nan], fwd])
    ahead = np.concatenate([fwd, [np.nan]])
    both = np.isfinite(back) & np.isfinite(ahead)
    out = np.where(both, 0.5 * (back + ahead), np.where(np.isfinite(back), back, ahead))
    return out


def _signed_offset_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Deviation of a–b–c from straight (degrees), signed + when ``b`` lies off the a–c line
    toward ``direction`` (a vector, broadcast)."""
    dev = flexion(a, b, c)
    ac = c - a
    ab = b - a
    denom = np.einsum("...i,...i->...", ac, ac)
    with np.errstate(invalid="ignore", divide="ignore"):
        proj = (np.einsum("...i,...i->...", ab, ac) / denom)[..., None]
    perp = ab - proj * ac
    s = np.einsum("...i,...i->...", perp, direction)
    return np.where(s >= 0, dev, -dev)


# --------------------------------------------------------------------------------------------
# Measure registry
# --------------------------------------------------------------------------------------------

@dataclass
class _Ctx:
    """Arrays a measure function reads: positions (T,33,D) with hidden landmarks already NaN."""

    pts: np.ndarray  # (T, 33, D) in the chosen space, NaN where hidden
    img: np.ndarray  # (T, 33, 2) image xy, NaN where hidden
    world: np.ndarray  # (T, 33, 3) world metres, NaN where hidden
    vis: np.ndarray  # (T, 33) visibility (NaN -> 0)
    cache: dict

    def p(self, lm: Landmark) -> np.ndarray:
        return self.pts[:, int(lm)]

    def angle(self, a: Landmark, b: Landmark, c: Landmark) -> np.ndarray:
        """Angle a-b-c over the sequence with the batched kernel (degrees, 180 = straight), read in
        cache-sized chunks straight from (T, 33, D) (measured: faster here than a component-major
        copy of all 33 landmarks, which only pays off when many angles share it)."""
        return sequence_angles(self.pts, [(int(a), int(b), int(c))])[0]

    def leg_length(self, side: str, pts: np.ndarray | None = None) -> np.ndarray:
        P = self.pts if pts is None else pts
        key = ("leg", side, id(P))
        if key not in self.cache:
            h, k, a = (P[:, int(_lm(side, n))] for n in ("hip", "knee", "ankle"))
            self.cache[key] = np.linalg.norm(k - h, axis=-1) + np.linalg.norm(a - k, axis=-1)
        return self.cache[key]

    def body_leg_length(self, pts: np.ndarray | None = None) -> np.ndarray:
        """Leg length of the person: mean of the sides that are visible (NaN if neither)."""
        legs = np.stack([self.leg_length(s, pts) for s in SIDES])
        n = np.isfinite(legs).sum(axis=0)
        total = np.nansum(legs, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, total / n, np.nan).astype(np.float32)

    def floor_y(self, pts: np.ndarray | None = None) -> np.ndarray:
        """y of the lowest visible landmark (the floor the body rests on), y down."""
        P = self.pts if pts is None else pts
        key = ("floor", id(P))
        if key not in self.cache:
            y = P[:, :, 1]
            ok = np.isfinite(y).any(axis=1)
            out = np.full(P.shape[0], np.nan, np.float32)
            out[ok] = np.nanmax(y[ok], axis=1)
            self.cache[key] = out
        return self.cache[key]


def _lm(side: str, part: str) -> Landmark:
    return Landmark[f"{side}_{part}".upper()]


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def _mid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Midpoint of a and b; where one is hidden, the other one (side views hide the far side)."""
    m = 0.5 * (a + b)
    m = np.where(np.isfinite(m), m, a)
    return np.where(np.isfinite(m), m, b)


_UP = np.array([0.0, -1.0, 0.0], np.float32)


def _up(ctx: _Ctx) -> np.ndarray:
    return _UP[: ctx.pts.shape[-1]]


# sided measures: name -> (function(ctx, side) -> (T,), landmark parts used for side selection)
_SIDED: dict[str, tuple[Callable[[_Ctx, str], np.ndarray], tuple[str, ...], str]] = {}
_UNSIDED: dict[str, tuple[Callable[[_Ctx], np.ndarray], str]] = {}


def _sided(name: str, parts: tuple[str, ...], doc: str):
    def deco(fn):
        _SIDED[name] = (fn, parts, doc)
        return fn
    return deco


def _unsided(name: str, doc: str):
    def deco(fn):
        _UNSIDED[name] = (fn, doc)
        return fn
    return deco


@_sided("knee_flexion", ("hip", "knee", "ankle"), "180 - angle(hip, knee, ankle); 0 = straight knee")
def _knee_flexion(ctx: _Ctx, s: str) -> np.ndarray:
    return 180.0 - ctx.angle(_lm(s, "hip"), _lm(s, "knee"), _lm(s, "ankle"))


@_sided("hip_flexion", ("shoulder", "hip", "knee"), "180 - angle(shoulder, hip, knee); 0 = trunk and thigh in line")
def _hip_flexion(ctx: _Ctx, s: str) -> np.ndarray:
    return 180.0 - ctx.angle(_lm(s, "shoulder"), _lm(s, "hip"), _lm(s, "knee"))


@_sided("ankle_dorsiflexion", ("knee", "ankle", "heel", "foot_index"),
        "90 - angle(shank, foot); + toes toward the shin, - pointed")
def _ankle(ctx: _Ctx, s: str) -> np.ndarray:
    shank = ctx.p(_lm(s, "knee")) - ctx.p(_lm(s, "ankle"))
    foot = ctx.p(_lm(s, "foot_index")) - ctx.p(_lm(s, "heel"))
    return 90.0 - _angle_between(shank, foot)


@_sided("elbow_flexion", ("shoulder", "elbow", "wrist"), "180 - angle(shoulder, elbow, wrist)")
def _elbow(ctx: _Ctx, s: str) -> np.ndarray:
    return 180.0 - ctx.angle(_lm(s, "shoulder"), _lm(s, "elbow"), _lm(s, "wrist"))


@_sided("shoulder_flexion", ("hip", "shoulder", "elbow"), "angle trunk (shoulder->hip) to upper arm; 0 at side, 180 overhead")
def _shoulder(ctx: _Ctx, s: str) -> np.ndarray:
    return ctx.angle(_lm(s, "hip"), _lm(s, "shoulder"), _lm(s, "elbow"))


@_sided("thigh_inclination", ("hip", "knee"), "angle of the thigh to the floor, 0..90")
def _thigh(ctx: _Ctx, s: str) -> np.ndarray:
    return np.abs(elevation(ctx.p(_lm(s, "hip")), ctx.p(_lm(s, "knee"))))


@_sided("thigh_elevation", ("hip", "knee"), "signed angle of hip->knee above the horizontal (+ knee above hip)")
def _thigh_elev(ctx: _Ctx, s: str) -> np.ndarray:
    return elevation(ctx.p(_lm(s, "hip")), ctx.p(_lm(s, "knee")))


@_sided("shank_inclination", ("knee", "ankle"), "angle of the shank to the floor, 0..90")
def _shank(ctx: _Ctx, s: str) -> np.ndarray:
    return np.abs(elevation(ctx.p(_lm(s, "knee")), ctx.p(_lm(s, "ankle"))))


@_sided("leg_elevation", ("hip", "ankle"), "signed angle of hip->ankle above the horizontal")
def _leg_elev(ctx: _Ctx, s: str) -> np.ndarray:
    return elevation(ctx.p(_lm(s, "hip")), ctx.p(_lm(s, "ankle")))


@_sided("arm_elevation", ("shoulder", "wrist"), "signed angle of shoulder->wrist above the horizontal")
def _arm_elev(ctx: _Ctx, s: str) -> np.ndarray:
    return elevation(ctx.p(_lm(s, "shoulder")), ctx.p(_lm(s, "wrist")))


@_sided("diagonal_reach", ("hip", "shoulder", "elbow", "knee"),
        "bird-dog reach: the {side} arm's flexion (90 -> 170 deg) or the other leg's lift (thigh -60 -> 0 deg "
        "above the horizontal), whichever reads further, % of a full reach")
def _diagonal_reach(ctx: _Ctx, s: str) -> np.ndarray:
    # Arm and opposite leg rise together; in an oblique view the far arm is hidden behind the body
    # (it reads 106-123 deg at a true 170) while the near leg that goes with it reads well. The leg
    # counts from 60 deg below the horizontal: people kneel with the thigh anywhere from -90 to -68 deg,
    # and that resting spread must read as no reach.
    arm = (_shoulder(ctx, s) - 90.0) / 80.0
    leg = (_thigh_elev(ctx, _other(s)) + 60.0) / 60.0
    both = np.stack([arm, leg])
    out = np.full(arm.shape, np.nan, np.float32)
    seen = np.isfinite(both).any(axis=0)
    out[seen] = 100.0 * np.nanmax(both[:, seen], axis=0)
    return out


@_sided("heel_height", ("hip", "knee", "ankle", "heel"), "heel height above the floor in leg lengths")
def _heel_height(ctx: _Ctx, s: str) -> np.ndarray:
    return (ctx.floor_y() - ctx.p(_lm(s, "heel"))[:, 1]) / ctx.body_leg_length()


@_sided("heel_height_cm", ("hip", "knee", "ankle", "heel"), "heel height above the floor in estimated cm")
def _heel_height_cm(ctx: _Ctx, s: str) -> np.ndarray:
    w = ctx.world
    metres = ctx.body_leg_length(w)
    return _heel_height(ctx, s) * metres * 100.0


@_sided("knee_valgus", ("hip", "knee", "ankle"), "frontal-plane projection angle (image); + knee inside the hip-ankle line")
def _valgus(ctx: _Ctx, s: str) -> np.ndarray:
    I = ctx.img
    h, k, a = (I[:, int(_lm(s, n))] for n in ("hip", "knee", "ankle"))
    medial = I[:, int(_lm(_other(s), "hip"))] - h  # toward the other hip = toward the midline
    medial = np.where(np.isfinite(medial), medial, np.nan)
    return _signed_offset_angle(h, k, a, medial)


@_sided("knee_over_toe", ("knee", "heel", "foot_index", "hip", "ankle"),
        "knee ahead of the toes along the foot, in leg lengths (+ past the toes)")
def _knee_over_toe(ctx: _Ctx, s: str) -> np.ndarray:
    I = ctx.img
    k, heel, toe = (I[:, int(_lm(s, n))] for n in ("knee", "heel", "foot_index"))
    fwd = np.sign(toe[:, 0] - heel[:, 0])
    return (k[:, 0] - toe[:, 0]) * fwd / ctx.leg_length(s, I)


def _trunk_points(ctx: _Ctx) -> tuple[np.ndarray, np.ndarray]:
    key = ("trunk", id(ctx.pts))
    if key not in ctx.cache:
        sh = _mid(ctx.p(Landmark.LEFT_SHOULDER), ctx.p(Landmark.RIGHT_SHOULDER))
        hp = _mid(ctx.p(Landmark.LEFT_HIP), ctx.p(Landmark.RIGHT_HIP))
        ctx.cache[key] = (sh, hp)
    return ctx.cache[key]


@_unsided("trunk_inclination", "angle of the trunk from vertical; 0 upright, 90 lying")
def _trunk_incl(ctx: _Ctx) -> np.ndarray:
    sh, hp = _trunk_points(ctx)
    return inclination_to_vertical(hp, sh)


@_unsided("trunk_to_horizontal", "signed angle of the trunk above the horizontal (+ shoulders higher)")
def _trunk_h(ctx: _Ctx) -> np.ndarray:
    sh, hp = _trunk_points(ctx)
    return elevation(hp, sh)


@_unsided("hip_lift", "hip height above the floor in leg lengths")
def _hip_lift(ctx: _Ctx) -> np.ndarray:
    _, hp = _trunk_points(ctx)
    return (ctx.floor_y() - hp[:, 1]) / ctx.body_leg_length()


def _best_side_triplet(ctx: _Ctx, parts: tuple[str, str, str]) -> tuple[np.ndarray, ...]:
    """Landmarks of the more visible side, per frame (side views hide the far side)."""
    vis = {s: np.min(np.stack([ctx.vis[:, int(_lm(s, p))] for p in parts]), axis=0) for s in SIDES}
    use_left = vis["left"] >= vis["right"]
    out = []
    for p in parts:
        left, right = ctx.p(_lm("left", p)), ctx.p(_lm("right", p))
        a = np.where(use_left[:, None], left, right)
        a = np.where(np.isfinite(a), a, np.where(use_left[:, None], right, left))
        out.append(a)
    return tuple(out)


@_unsided("body_line", "deviation of shoulder-hip-ankle from straight; + = hips sag, - = piked")
def _body_line(ctx: _Ctx) -> np.ndarray:
    s, h, a = _best_side_triplet(ctx, ("shoulder", "hip", "ankle"))
    return _signed_offset_angle(s, h, a, -_up(ctx))


@_unsided("bridge_line", "deviation of shoulder-hip-knee from straight; + = hips above the line")
def _bridge_line(ctx: _Ctx) -> np.ndarray:
    s, h, k = _best_side_triplet(ctx, ("shoulder", "hip", "knee"))
    return _signed_offset_angle(s, h, k, _up(ctx))


def _line_tilt(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(elevation(a, b))


@_unsided("pelvis_tilt", "angle of the left-right hip line to the horizontal (world when available)")
def _pelvis_tilt(ctx: _Ctx) -> np.ndarray:
    W = ctx.world
    return _line_tilt(W[:, int(Landmark.LEFT_HIP)], W[:, int(Landmark.RIGHT_HIP)])


@_unsided("shoulder_tilt", "angle of the left-right shoulder line to the horizontal (world)")
def _shoulder_tilt(ctx: _Ctx) -> np.ndarray:
    W = ctx.world
    return _line_tilt(W[:, int(Landmark.LEFT_SHOULDER)], W[:, int(Landmark.RIGHT_SHOULDER)])


@_unsided("trunk_twist", "angle between the hip line and the shoulder line (world)")
def _twist(ctx: _Ctx) -> np.ndarray:
    W = ctx.world
    hips = W[:, int(Landmark.RIGHT_HIP)] - W[:, int(Landmark.LEFT_HIP)]
    sh = W[:, int(Landmark.RIGHT_SHOULDER)] - W[:, int(Landmark.LEFT_SHOULDER)]
    return _angle_between(hips, sh)


@_unsided("shoulder_width_ratio", "shoulder width / trunk length in the image; ~0 side view, ~0.7 front view")
def _swr(ctx: _Ctx) -> np.ndarray:
    I = ctx.img
    ls, rs = I[:, int(Landmark.LEFT_SHOULDER)], I[:, int(Landmark.RIGHT_SHOULDER)]
    lh, rh = I[:, int(Landmark.LEFT_HIP)], I[:, int(Landmark.RIGHT_HIP)]
    width = np.linalg.norm(ls - rs, axis=-1)
    trunk = np.linalg.norm(0.5 * (ls + rs) - 0.5 * (lh + rh), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return width / trunk


def _larger_side(ctx: _Ctx, fn: Callable[[_Ctx, str], np.ndarray]) -> np.ndarray:
    """The larger of a sided measure's left and right values per frame (the other side where one is
    hidden; NaN where both are)."""
    return np.fmax(fn(ctx, "left"), fn(ctx, "right"))


@_unsided("knee_flexion_max", "the more bent knee, whichever side BlazePose labels it (label-swap proof)")
def _knee_flexion_max(ctx: _Ctx) -> np.ndarray:
    # One leg moves while the other rests straight (heel slides): the working knee is the bent one.
    # BlazePose swaps left/right leg points of a lying body on part of the frames, so a sided
    # measure jumps between the legs mid-rep; the larger of the two does not.
    return _larger_side(ctx, _knee_flexion)


@_unsided("heel_height_max", "the higher heel above the floor in leg lengths, whichever side (label-swap proof)")
def _heel_height_max(ctx: _Ctx) -> np.ndarray:
    return _larger_side(ctx, _heel_height)


_LUMBAR_CHANNEL = "channel:lumbar_curve"  # ctx.cache key of the sequence's per-frame lumbar_curve channel
_T_CHANNEL = "channel:t"  # ctx.cache key of the sequence's times (s)


@_unsided("lumbar_curve", "lumbar back-contour depth below the buttock-upper-back chord, % trunk length; "
                          "+ hollow (lordotic), - rounded; side view, needs the segmentation mask")
def _lumbar_curve(ctx: _Ctx) -> np.ndarray:
    """Read from the sequence (computed per frame by the pose engine from the mask, see
    :mod:`formcheck.contour`); NaN where absent."""
    T = ctx.pts.shape[0]
    ch = ctx.cache.get(_LUMBAR_CHANNEL)
    return np.full(T, np.nan, np.float32) if ch is None else np.asarray(ch, np.float32)


@_unsided("lumbar_flattening", "lumbar_curve below the person's own resting curve (highest 1-s median of "
                               "the last 10 s), % trunk length; + = flatter; needs a sequence")
def _lumbar_flattening(ctx: _Ctx) -> np.ndarray:
    from formcheck.contour import lumbar_flattening

    return _below_own_rest(ctx, _lumbar_curve(ctx), lumbar_flattening)


def _below_own_rest(ctx: _Ctx, values: np.ndarray, reference: Callable[[np.ndarray, np.ndarray], np.ndarray]
                    ) -> np.ndarray:
    """``reference(values, t)`` over the sequence: a measure against the person's own resting level."""
    t = ctx.cache.get(_T_CHANNEL)
    if t is None or len(t) < 2:
        return np.full(values.shape, np.nan, np.float32)  # one frame has no history (StreamingMeasures has)
    return reference(values, t)


#: trunk_line_drop's resting reference (formcheck.resting.RestingReference): the highest 1-s median of
#: the last 10 s held still (1-s range <= 1 deg, at least 0.5 s of frames), so the way into the position
#: and the first frames of a track are not a rest; a drop over 5 deg is another posture (lying down after
#: sitting), not a tilt: the reference starts afresh. Shared with StreamingMeasures (live == recorded).
TRUNK_LINE_REST = {"window_s": 10.0, "smooth_s": 1.0, "still_range": 1.0, "min_span_s": 0.5, "max_drop": 5.0}


@_unsided("trunk_line_drop", "trunk_to_horizontal below the person's own resting level (highest still 1-s "
                             "median of the last 10 s), deg; + = shoulders lower/hips higher (posterior "
                             "pelvic tilt lying supine); needs a sequence")
def _trunk_line_drop(ctx: _Ctx) -> np.ndarray:
    return _against_own_rest(ctx, "trunk_line_drop")


def _front_midpoints(ctx: _Ctx, upper: str, lower: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image midpoints of both sides' ``upper`` and ``lower`` points and the shoulder width, for front-view
    measures: both sides required (a one-sided midpoint would jump); the shoulder width cancels the
    camera distance and the person's size in the image."""
    I = ctx.img
    up = 0.5 * (I[:, int(_lm("left", upper))] + I[:, int(_lm("right", upper))])
    low = 0.5 * (I[:, int(_lm("left", lower))] + I[:, int(_lm("right", lower))])
    width = np.linalg.norm(I[:, int(Landmark.LEFT_SHOULDER)] - I[:, int(Landmark.RIGHT_SHOULDER)], axis=-1)
    return up, low, width


@_unsided("hip_level", "100 ln(hip-mid height above the ankle-mid / shoulder width), image; front view "
                       "(differences are % changes of the hip height)")
def _hip_level(ctx: _Ctx) -> np.ndarray:
    # the log turns a ratio of heights into a difference
    hip, ankle, width = _front_midpoints(ctx, "hip", "ankle")
    height = ankle[:, 1] - hip[:, 1]
    ok = (height > 0) & (width > 0)
    out = np.full(height.shape, np.nan, np.float32)
    out[ok] = 100.0 * np.log(height[ok] / width[ok])
    return out


#: hip_drop's resting reference (formcheck.resting.RestingReference): the highest 0.5-s median of the
#: last 20 s held still (0.5-s range <= 2 %: a standing person's frame-to-frame landmark noise reads
#: 0.1-0.3 %, the way down into a squat 2 % per 0.5 s and more), at least 0.3 s of frames: people
#: pause only briefly at the top between squats (a real front-view squat set at 30 fps stands ~0.5 s
#: between reps). 20 s covers a 5-s hold with the way down and up and some rest between reps; no
#: max_drop: a deeper squat is the same posture, deeper.
HIP_DROP_REST = {"window_s": 20.0, "smooth_s": 0.5, "still_range": 2.0, "min_span_s": 0.3}


@_unsided("hip_drop", "how far the hips are below the person's own standing height above the ankles (highest "
                      "still 0.5-s median of hip_level over the last 20 s), % of that height; + = lower; front "
                      "view (squats), needs a sequence")
def _hip_drop(ctx: _Ctx) -> np.ndarray:
    return _against_own_rest(ctx, "hip_drop")


@_unsided("ankle_lift", "ankle-mid height above the toe-mid (foot_index), % shoulder width, image; front view "
                        "(its standing value depends on the camera height: see heel_rise)")
def _ankle_lift(ctx: _Ctx) -> np.ndarray:
    # A heel raise does not change the shoulder width. Read at the feet, the rise is not blurred by the
    # sway of the trunk and hips during the hold.
    ankle, toe, width = _front_midpoints(ctx, "ankle", "foot_index")
    out = np.full(width.shape, np.nan, np.float32)
    ok = np.isfinite(ankle[:, 1]) & np.isfinite(toe[:, 1]) & (width > 0)
    out[ok] = 100.0 * (toe[ok, 1] - ankle[ok, 1]) / width[ok]
    return out


#: heel_rise's resting reference (formcheck.resting.RestingReference, rise=True): the LOWEST 0.5-s median
#: of ankle_lift over the last 20 s held still (0.5-s range <= 2 % of the shoulder width: standing frame
#: noise is 0.1-0.4 %, the way up 5 % per 0.5 s and more), at least 0.3 s of frames. The standing value
#: itself differs by camera placement (the foot is seen from above or level), the rise does not.
HEEL_RISE_REST = {"window_s": 20.0, "smooth_s": 0.5, "still_range": 2.0, "min_span_s": 0.3, "rise": True}


@_unsided("heel_rise", "how far the ankles are above the person's own standing level over the toes (lowest "
                       "still 0.5-s median of ankle_lift over the last 20 s), % shoulder width; + = up on the "
                       "toes; front view (heel raises), needs a sequence")
def _heel_rise(ctx: _Ctx) -> np.ndarray:
    return _against_own_rest(ctx, "heel_rise")


#: Measures read against the person's own resting level (formcheck.resting.RestingReference): name ->
#: (the per-frame measure it follows, the reference's settings). One table for the recorded sequence
#: (_against_own_rest) and the live stream (formcheck.analysis.StreamingMeasures): live == recorded.
OWN_REST_MEASURES: dict[str, tuple[str, dict]] = {
    "trunk_line_drop": ("trunk_to_horizontal", TRUNK_LINE_REST),
    "hip_drop": ("hip_level", HIP_DROP_REST),
    "heel_rise": ("ankle_lift", HEEL_RISE_REST),
}


def _against_own_rest(ctx: _Ctx, name: str) -> np.ndarray:
    from formcheck.resting import drop_below_rest

    base, rest = OWN_REST_MEASURES[name]
    fn = _UNSIDED[base][0]
    return _below_own_rest(ctx, fn(ctx), lambda v, t: drop_below_rest(v, t, **rest))


def _build_catalogue() -> dict[str, str]:
    cat: dict[str, str] = {}
    for name, (_, _, doc) in _SIDED.items():
        cat[name] = f"{doc} (more visible side)"
        for s in SIDES:
            cat[f"{name}_{s}"] = f"{doc} ({s})"
    for name, (_, doc) in _UNSIDED.items():
        cat[name] = doc
    return cat


#: Every measure name with a one-line description (``<name>_velocity`` is available for each).
MEASURES: Mapping[str, str] = _build_catalogue()
SIDED_MEASURES: frozenset[str] = frozenset(_SIDED)


def measure_names() -> list[str]:
    """All measure names (without the ``_velocity`` variants)."""
    return sorted(MEASURES)


def is_known_measure(name: str) -> bool:
    return name in MEASURES or (name.endswith("_velocity") and name[: -len("_velocity")] in MEASURES)


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------

def estimate_view(seq_or_ratio: PoseSequence | np.ndarray, visibility: float = DEFAULT_VISIBILITY) -> str:
    """Classify the camera view from the median shoulder-width ratio: ``side``, ``oblique``,
    ``front`` (front or back), or ``unknown`` when no shoulders/hips are visible."""
    if isinstance(seq_or_ratio, PoseSequence):
        ratio = compute_measures(seq_or_ratio, ["shoulder_width_ratio"], space="image",
                                 visibility=visibility)["shoulder_width_ratio"]
    else:
        ratio = np.asarray(seq_or_ratio, dtype=np.float64)
    if not np.isfinite(ratio).any():
        return "unknown"
    r = float(np.nanmedian(ratio))
    return view_from_ratio(r)


def view_from_ratio(r: float) -> str:
    if not np.isfinite(r):
        return "unknown"
    if r < 0.3:
        return "side"
    if r < 0.55:
        return "oblique"
    return "front"


def _masked(arr: np.ndarray, vis: np.ndarray, thr: float) -> np.ndarray:
    hidden = ~(vis >= thr)  # NaN visibility counts as hidden
    out = np.array(arr, dtype=np.float32, copy=True)
    out[hidden] = np.nan
    return out


def _check_space(space: str) -> None:
    if space not in ("image", "world", "auto"):
        raise FieldError("space", "'image', 'world' or 'auto'", space)


def compute_measures(seq: PoseSequence, names: Iterable[str] | None = None, space: Space = "auto",
                     visibility: float = DEFAULT_VISIBILITY) -> dict[str, np.ndarray]:
    """Compute named measures over a whole sequence.

    ``names`` defaults to every measure in :data:`MEASURES`. Returns ``{name: (T,) float32}``,
    NaN where a landmark the measure needs has visibility below ``visibility`` or no person was
    found. Unknown names raise :class:`~formcheck.errors.FieldError`.
    """
    _check_space(space)
    if not 0.0 <= visibility <= 1.0:
        raise FieldError("visibility", "a threshold in [0, 1]", visibility)
    wanted = list(MEASURES) if names is None else list(dict.fromkeys(names))
    for n in wanted:
        if not is_known_measure(n):
            raise FieldError("measure", f"one of {measure_names()} (or <name>_velocity)", n)
    T = len(seq)
    vis = np.nan_to_num(seq.visibility, nan=0.0)
    img = _masked(seq.xyz[..., :2], vis, visibility)
    world = _masked(seq.world, vis, visibility)
    if space == "auto":
        view = estimate_view(seq, visibility) if T else "unknown"
        space = "world" if view == "front" else "image"
    pts = img if space == "image" else world
    ctx = _Ctx(pts=pts, img=img, world=world, vis=vis, cache={_LUMBAR_CHANNEL: seq.lumbar_curve, _T_CHANNEL: seq.t})
    out: dict[str, np.ndarray] = {}
    base_cache: dict[str, np.ndarray] = {}

    def base(name: str) -> np.ndarray:
        if name in base_cache:
            return base_cache[name]
        with np.errstate(invalid="ignore", divide="ignore"):
            if name in _UNSIDED:
                val = _UNSIDED[name][0](ctx)
            elif name in _SIDED:
                left, right = base(f"{name}_left"), base(f"{name}_right")
                parts = _SIDED[name][1]
                vl = np.min(np.stack([vis[:, int(_lm("left", p))] for p in parts]), axis=0)
                vr = np.min(np.stack([vis[:, int(_lm("right", p))] for p in parts]), axis=0)
                pick_left = (vl >= vr) & np.isfinite(left) | ~np.isfinite(right)
                val = np.where(pick_left, left, right)
            else:
                stem, side = name.rsplit("_", 1)
                val = _SIDED[stem][0](ctx, side)
        val = np.asarray(val, dtype=np.float32).reshape(T)
        base_cache[name] = val
        return val

    for n in wanted:
        if n.endswith("_velocity") and n not in MEASURES:
            out[n] = angular_velocity(base(n[: -len("_velocity")]), seq.t).astype(np.float32)
        else:
            out[n] = base(n)
    return out


def frame_measures(frame: PoseFrame, names: Iterable[str] | None = None, space: Space = "image",
                   visibility: float = DEFAULT_VISIBILITY) -> dict[str, float]:
    """Measures of one frame (for live use): ``{name: float}``, NaN where hidden.

    ``space="auto"`` decides from this frame alone; live callers usually fix the space once from
    the camera setup. ``_velocity`` names are not available per frame (the exercise tracker
    differentiates over time itself).
    """
    names = list(MEASURES) if names is None else list(names)
    if any(n.endswith("_velocity") and n not in MEASURES for n in names):
        raise InputError("velocity measures need a sequence; use compute_measures or a tracker 'rate' condition")
    seq = PoseSequence(frame.xyz[None], frame.world[None], frame.visibility[None], frame.presence[None],
                       np.array([frame.t]), frame.image_size, lumbar_curve=np.array([frame.lumbar_curve]))
    return {k: float(v[0]) for k, v in compute_measures(seq, names, space, visibility).items()}
