"""Fused single-pass joint-angle kernels (numba), the fast path of :mod:`formcheck.measures`.

Importing this module imports numba, so :mod:`formcheck.measures` imports it lazily, on the first
call that uses it (``import formcheck.measures`` and the command line never pay for numba or its JIT).
The kernels are compiled on first use per input type and cached next to this file (``__pycache__``;
numba falls back to a per-user cache directory when that is not writable, and to no cache at all
when nothing is).

Every angle is ``atan2(|u x v|, u . v)`` in degrees with ``u = a - b``, ``v = c - b``, the formula of
the numpy path and of a per-frame ``math.atan2`` loop. ``atan2`` itself is evaluated branch-free
(octant reduction and an odd minimax polynomial, max error 2.2e-6 degrees) so that the frame loop
vectorises; libm's scalar ``atan2`` would cost more than everything else together. NaN in any
coordinate gives a NaN angle. Arithmetic is done in the input's precision (float32 or float64);
results are float32. No ``fastmath``: IEEE semantics (NaN, signed zero) are kept.

Callers validate shapes and indices: the kernels do no bounds checking.
"""

from __future__ import annotations

import logging
import math

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

_log = logging.getLogger(__name__)

# atan(t) ~= t * P(t^2) on [0, 1]: Chebyshev-node least squares refined to equal ripple
# (max |error| 3.8e-8 rad = 2.2e-6 deg, checked on 2e6 points by tests/test_measures.py).
# float32 constants keep float32 input in float32 arithmetic; float64 input promotes them.
_C0 = np.float32(0.9999993356196575)
_C1 = np.float32(-0.33329860865891286)
_C2 = np.float32(0.19946566141590713)
_C3 = np.float32(-0.13908630734930066)
_C4 = np.float32(0.09642198284221495)
_C5 = np.float32(-0.05591232052785991)
_C6 = np.float32(0.02186294404743422)
_C7 = np.float32(-0.004054561466612472)
_HALF_PI = np.float32(math.pi / 2)
_PI = np.float32(math.pi)
_DEG = np.float32(180.0 / math.pi)
_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)

BLOCK = 512
"""Frames gathered per block by :func:`angles_tm` (the block stays in L1/L2 while its angles are computed)."""
PAD = 16
"""Extra floats per row of the gather buffer: rows 2^k bytes apart all map to the same L1 sets (a
512-frame block ran 3-4x slower unpadded)."""
PREFETCH_AHEAD = 16
"""Frames ahead that :func:`angles_tm` prefetches (measured: gather 20.5 -> 15.7 ms for 500 k frames;
8-64 all alike)."""
COLUMN_BLOCK = 4096
"""Columns per block in :func:`angles_cm` (the landmark rows of a block stay in L2 across triplets)."""


_uncached: list[str] = []


def _jit(**kw):
    """``numba.njit(cache=True, nogil=True)``, without the cache when numba finds nowhere to write it
    (neither next to this file nor in a per-user cache directory; numba raises RuntimeError at
    decoration time then): compiling in every process is slower, never a failure."""
    def deco(fn):
        try:
            return numba.njit(cache=True, nogil=True, **kw)(fn)
        except RuntimeError as exc:  # "cannot cache function ...: no locator available for file ..."
            if not _uncached:
                _log.warning("numba cannot cache the angle kernels (%s): they are compiled in every process "
                             "(~1 s on first use; set NUMBA_CACHE_DIR to a writable folder)", exc)
            _uncached.append(fn.__name__)
            return numba.njit(cache=False, nogil=True, **kw)(fn)
    return deco


@intrinsic
def _prefetch(typingctx, arr, i, j):
    """Hint the CPU to fetch &arr[i, j, 0] into cache (llvm.prefetch, read, high locality); no-op
    semantics, never faults."""
    sig = types.void(arr, i, j)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        idx = [context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], signature.args[1:])]
        idx.append(context.get_constant(types.intp, 0))
        ptr = cgutils.get_item_pointer2(context, builder, data=ary.data,
                                        shape=cgutils.unpack_tuple(builder, ary.shape),
                                        strides=cgutils.unpack_tuple(builder, ary.strides),
                                        layout=aryty.layout, inds=idx, wraparound=False, boundscheck=False)
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@_jit(inline="always")
def atan2_deg(y, x):  # pragma: no cover - compiled
    """atan2(y, x) in degrees for y >= 0 (|u x v| >= 0), branch-free; NaN in, NaN out."""
    ax = abs(x)
    swap = y > ax
    mn = ax if swap else y
    mx = y if swap else ax
    t = mn / (mx if mx != _ZERO else _ONE)  # both 0 -> 0 (atan2(0, +-0) = 0 or 180); NaN stays NaN
    z = t * t
    p = t * (_C0 + z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * (_C6 + z * _C7)))))))
    r = _HALF_PI - p if swap else p
    r = _PI - r if math.copysign(_ONE, x) < _ZERO else r  # x < 0, or x = -0.0 as atan2 does
    return r * _DEG


@_jit(inline="always")
def _rows(comp, c0, trip, out, o0, n):  # pragma: no cover - compiled
    """out[row, o0:o0+n] = angle(trip[row]) from columns c0..c0+n of comp (L, D, >=c0+n)."""
    D = comp.shape[1]
    for row in range(trip.shape[0]):
        a = trip[row, 0]
        b = trip[row, 1]
        c = trip[row, 2]
        o = out[row, o0:o0 + n]
        ax_, ay = comp[a, 0, c0:c0 + n], comp[a, 1, c0:c0 + n]
        bx, by = comp[b, 0, c0:c0 + n], comp[b, 1, c0:c0 + n]
        cx, cy = comp[c, 0, c0:c0 + n], comp[c, 1, c0:c0 + n]
        if D == 3:
            az, bz, cz = comp[a, 2, c0:c0 + n], comp[b, 2, c0:c0 + n], comp[c, 2, c0:c0 + n]
            for t in range(n):
                ux = ax_[t] - bx[t]
                uy = ay[t] - by[t]
                uz = az[t] - bz[t]
                vx = cx[t] - bx[t]
                vy = cy[t] - by[t]
                vz = cz[t] - bz[t]
                px = uy * vz - uz * vy
                py = uz * vx - ux * vz
                pz = ux * vy - uy * vx
                o[t] = atan2_deg(math.sqrt(px * px + py * py + pz * pz), ux * vx + uy * vy + uz * vz)
        else:
            for t in range(n):
                ux = ax_[t] - bx[t]
                uy = ay[t] - by[t]
                vx = cx[t] - bx[t]
                vy = cy[t] - by[t]
                o[t] = atan2_deg(abs(ux * vy - uy * vx), ux * vx + uy * vy)


@_jit()
def angles_cm(comp, trip, out, block):  # pragma: no cover - compiled
    """Angles for every triplet (n, 3) from component-major comp (33, D, T) into out (n, T) float32,
    ``block`` columns at a time for all triplets (landmarks shared by several triplets are then read
    from cache, not memory)."""
    T = comp.shape[2]
    for s in range(0, T, block):
        _rows(comp, s, trip, out, s, min(block, T - s))


@_jit()
def angles_tm(pts, uniq, ltrip, out, buf, block, ahead):  # pragma: no cover - compiled
    """Angles straight from frame-major pts (T, L, D), any strides: each block of ``block`` frames has
    its landmarks ``uniq`` (sorted) gathered into buf (len(uniq), D, >= block) (L1/L2-resident), then
    ltrip (indices into uniq) is computed from it. While frame t is gathered, the cache lines of frame
    t + ``ahead`` are prefetched (the strided reads otherwise run well below memory bandwidth).
    out (n, T) float32."""
    T = pts.shape[0]
    D = pts.shape[2]
    nu = uniq.shape[0]
    lo = uniq[0]
    hi = uniq[nu - 1]
    step = max(1, 64 // max(1, pts.strides[1]))  # landmarks per 64-byte cache line
    for s in range(0, T, block):
        n = min(block, T - s)
        for t in range(n):
            f = min(T - 1, s + t + ahead)
            for lm in range(lo, hi + 1, step):
                _prefetch(pts, f, lm)
            _prefetch(pts, f, hi)
            if D == 3:
                for j in range(nu):
                    lm = uniq[j]
                    buf[j, 0, t] = pts[s + t, lm, 0]
                    buf[j, 1, t] = pts[s + t, lm, 1]
                    buf[j, 2, t] = pts[s + t, lm, 2]
            else:
                for j in range(nu):
                    lm = uniq[j]
                    buf[j, 0, t] = pts[s + t, lm, 0]
                    buf[j, 1, t] = pts[s + t, lm, 1]
        _rows(buf, 0, ltrip, out, s, n)
