"""Velocity-adaptive landmark smoothing (One-Euro filter), vectorised, as MediaPipe's
``LandmarksSmoothingCalculator`` and ``VisibilitySmoothingCalculator`` do it.

Each value is low-pass filtered with a cutoff ``min_cutoff + beta * |speed|``: still landmarks are held
steady, fast ones follow with little lag. ``value_scale`` turns pixel speeds into speeds relative to the
person's size, so the same settings work near and far from the camera.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LandmarkSmoother", "LowPassFilter", "OneEuroFilter"]


def _alpha(cutoff: np.ndarray | float, frequency: float) -> np.ndarray:
    te = 1.0 / frequency
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff, np.float64))
    return 1.0 / (1.0 + tau / te)


class LowPassFilter:
    """Exponential smoothing ``y = a x + (1 - a) y_prev`` (the first value passes through)."""

    def __init__(self, alpha: float) -> None:
        self.alpha = float(alpha)
        self._y: np.ndarray | None = None

    def reset(self) -> None:
        self._y = None

    def update(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        self._y = x.copy() if self._y is None else self.alpha * x + (1.0 - self.alpha) * self._y
        return self._y.copy()


class OneEuroFilter:
    """One-Euro filter over an array of values (any shape), with MediaPipe's conventions:
    the frequency is taken from the timestamps (``frequency`` until two have been seen); a timestamp that
    does not increase returns the value unfiltered."""

    def __init__(self, min_cutoff: float, beta: float, derivate_cutoff: float = 1.0,
                 frequency: float = 30.0) -> None:
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.derivate_cutoff = float(derivate_cutoff)
        self.default_frequency = float(frequency)
        self.reset()

    def reset(self) -> None:
        self._t: float | None = None
        self._freq = self.default_frequency
        self._raw: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self._dy: np.ndarray | None = None

    def update(self, x: np.ndarray, t: float, value_scale: float = 1.0) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self._t is not None and t <= self._t:
            return x.copy()
        if self._t is not None:
            self._freq = 1.0 / (t - self._t)
        self._t = float(t)
        if self._raw is None or self._raw.shape != x.shape:
            self._raw, self._y, self._dy = x.copy(), x.copy(), np.zeros_like(x)
            return x.copy()
        dx = (x - self._raw) * value_scale * self._freq
        self._dy = self._dy + _alpha(self.derivate_cutoff, self._freq) * (dx - self._dy)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dy)
        a = _alpha(cutoff, self._freq)
        self._y = a * x + (1.0 - a) * self._y
        self._raw = x.copy()
        return self._y.copy()


class LandmarkSmoother:
    """Smooths a person's landmarks frame to frame with MediaPipe Pose's settings:

    * image landmarks: One-Euro min_cutoff 0.05, beta 80, speeds relative to the person's size;
    * world landmarks: One-Euro min_cutoff 0.1, beta 40, speeds in metres;
    * auxiliary (ROI) points: One-Euro min_cutoff 0.01, beta 10 (steadier crop);
    * visibility: low-pass alpha 0.1.
    """

    def __init__(self, min_cutoff: float = 0.05, beta: float = 80.0, world_min_cutoff: float = 0.1,
                 world_beta: float = 40.0, aux_min_cutoff: float = 0.01, aux_beta: float = 10.0,
                 visibility_alpha: float = 0.1) -> None:
        self.xyz = OneEuroFilter(min_cutoff, beta)
        self.world = OneEuroFilter(world_min_cutoff, world_beta)
        self.aux = OneEuroFilter(aux_min_cutoff, aux_beta)
        self.visibility = LowPassFilter(visibility_alpha)

    def reset(self) -> None:
        for f in (self.xyz, self.world, self.aux, self.visibility):
            f.reset()

    def update(self, t: float, xyz: np.ndarray, world: np.ndarray, visibility: np.ndarray,
               aux: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Filter one frame; ``xyz`` (33, 3) pixels, ``world`` (33, 3) m, ``visibility`` (33,),
        ``aux`` (2, 2) pixels. Returns the filtered arrays in the same order."""
        scale = 2.0 * float(np.hypot(*(aux[1] - aux[0])))  # the person's size in pixels
        aux_box = np.ptp(aux, axis=0)
        aux_scale = float(aux_box.mean())
        xyz_f = self.xyz.update(xyz, t, 1.0 / scale if scale > 1e-6 else 0.0)
        world_f = self.world.update(world, t, 1.0)
        aux_f = self.aux.update(aux, t, 1.0 / aux_scale if aux_scale > 1e-6 else 0.0)
        vis_f = self.visibility.update(visibility)
        return (xyz_f.astype(np.float32), world_f.astype(np.float32), vis_f.astype(np.float32),
                aux_f.astype(np.float32))
