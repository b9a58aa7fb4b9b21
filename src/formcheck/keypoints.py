"""The core landmark data: dataclasses of parallel numpy arrays, NaN where nothing was found.

Conventions (shared by every module):

* ``xyz`` are image landmarks in **pixels** of the original (rotation-corrected) frame: x to the
  right, y down, z is depth on roughly the same scale as x (smaller = nearer the camera), relative
  to the hip midpoint, as BlazePose reports it.
* ``world`` are BlazePose world landmarks in **metres**, origin at the hip midpoint, y down.
* ``visibility`` / ``presence`` are probabilities in [0, 1].
* A frame without a person has NaN everywhere (never zeros).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from formcheck.errors import FieldError, InputError
from formcheck.landmarks import NUM_LANDMARKS

_N = NUM_LANDMARKS


def _check(name: str, arr: np.ndarray, shape: tuple[int | None, ...]) -> np.ndarray:
    arr = np.asarray(arr, dtype=np.float32)
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
    if not ok:
        expected = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
        raise FieldError(name, f"shape {expected}", arr.shape)
    return arr


@dataclass(frozen=True, eq=False)
class PoseFrame:
    """Landmarks of one person in one frame."""

    xyz: np.ndarray  # (33, 3) pixels
    world: np.ndarray  # (33, 3) metres
    visibility: np.ndarray  # (33,)
    presence: np.ndarray  # (33,)
    t: float  # seconds
    image_size: tuple[int, int]  # (width, height)
    segmentation: np.ndarray | None = field(default=None, repr=False)  # (H, W) float in [0,1], optional
    #: lumbar curve of the back contour (% torso length, + hollow; see formcheck.contour), NaN when not
    #: computed (PoseOptions.lumbar_curve) or not measurable
    lumbar_curve: float = float("nan")

    def __post_init__(self) -> None:
        object.__setattr__(self, "xyz", _check("xyz", self.xyz, (_N, 3)))
        object.__setattr__(self, "world", _check("world", self.world, (_N, 3)))
        object.__setattr__(self, "visibility", _check("visibility", self.visibility, (_N,)))
        object.__setattr__(self, "presence", _check("presence", self.presence, (_N,)))
        object.__setattr__(self, "lumbar_curve", float(self.lumbar_curve))

    @property
    def found(self) -> bool:
        """True when a person was found in this frame."""
        return bool(np.isfinite(self.xyz[:, 0]).any())

    @classmethod
    def empty(cls, t: float, image_size: tuple[int, int]) -> "PoseFrame":
        nan3 = np.full((_N, 3), np.nan, np.float32)
        nan1 = np.full((_N,), np.nan, np.float32)
        return cls(nan3, nan3.copy(), nan1, nan1.copy(), float(t), tuple(image_size))  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class PoseSequence:
    """Landmarks of one person over T frames (parallel arrays, NaN where not found)."""

    xyz: np.ndarray  # (T, 33, 3) pixels
    world: np.ndarray  # (T, 33, 3) metres
    visibility: np.ndarray  # (T, 33)
    presence: np.ndarray  # (T, 33)
    t: np.ndarray  # (T,) seconds
    image_size: tuple[int, int]  # (width, height)
    fps: float = float("nan")  # nominal frame rate of the source, if known
    #: (T,) per-frame lumbar curve of the back contour (formcheck.contour); NaN-filled when absent
    lumbar_curve: np.ndarray | None = None

    def __post_init__(self) -> None:
        xyz = _check("xyz", self.xyz, (None, _N, 3))
        T = xyz.shape[0]
        object.__setattr__(self, "xyz", xyz)
        object.__setattr__(self, "world", _check("world", self.world, (T, _N, 3)))
        object.__setattr__(self, "visibility", _check("visibility", self.visibility, (T, _N)))
        object.__setattr__(self, "presence", _check("presence", self.presence, (T, _N)))
        t = np.asarray(self.t, dtype=np.float64)
        if t.shape != (T,):
            raise FieldError("t", f"shape ({T},)", t.shape)
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "image_size", (int(self.image_size[0]), int(self.image_size[1])))
        lc = np.full(T, np.nan, np.float32) if self.lumbar_curve is None else _check(
            "lumbar_curve", self.lumbar_curve, (T,))
        object.__setattr__(self, "lumbar_curve", lc)

    def __len__(self) -> int:
        return int(self.xyz.shape[0])

    def __getitem__(self, idx: slice | np.ndarray | Sequence[int]) -> "PoseSequence":
        if isinstance(idx, int):
            raise TypeError("index a PoseSequence with a slice or an index array; use .frame(i) for one frame")
        return PoseSequence(
            self.xyz[idx], self.world[idx], self.visibility[idx], self.presence[idx], self.t[idx],
            self.image_size, self.fps, self.lumbar_curve[idx],
        )

    def frame(self, i: int) -> PoseFrame:
        return PoseFrame(self.xyz[i], self.world[i], self.visibility[i], self.presence[i], float(self.t[i]),
                         self.image_size, lumbar_curve=float(self.lumbar_curve[i]))

    @property
    def found(self) -> np.ndarray:
        """(T,) bool: a person was found in the frame."""
        return np.isfinite(self.xyz[:, :, 0]).any(axis=1)

    @classmethod
    def from_frames(cls, frames: Iterable[PoseFrame], image_size: tuple[int, int] | None = None,
                    fps: float = float("nan")) -> "PoseSequence":
        frames = list(frames)
        if not frames:
            if image_size is None:
                raise FieldError("frames", "at least one frame or an image_size", 0)
            return cls.empty(0, image_size, fps=fps)
        return cls(
            np.stack([f.xyz for f in frames]), np.stack([f.world for f in frames]),
            np.stack([f.visibility for f in frames]), np.stack([f.presence for f in frames]),
            np.array([f.t for f in frames], np.float64), image_size or frames[0].image_size, fps,
            np.array([f.lumbar_curve for f in frames], np.float32),
        )

    @classmethod
    def empty(cls, T: int, image_size: tuple[int, int], t: np.ndarray | None = None,
              fps: float = float("nan")) -> "PoseSequence":
        nan3 = np.full((T, _N, 3), np.nan, np.float32)
        nan1 = np.full((T, _N), np.nan, np.float32)
        tt = np.arange(T, dtype=np.float64) / (fps if np.isfinite(fps) and fps > 0 else 30.0) if t is None else t
        return cls(nan3, nan3.copy(), nan1, nan1.copy(), tt, image_size, fps)

    def save(self, path: str | Path) -> Path:
        """Write the sequence as a compressed ``.npz``."""
        path = Path(path)
        np.savez_compressed(path, xyz=self.xyz, world=self.world, visibility=self.visibility,
                            presence=self.presence, t=self.t, image_size=np.array(self.image_size),
                            fps=np.array(self.fps), lumbar_curve=self.lumbar_curve,
                            format=np.array("formcheck.pose/1"))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "PoseSequence":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(z["xyz"], z["world"], z["visibility"], z["presence"], z["t"],
                           tuple(int(v) for v in z["image_size"]), float(z["fps"]),
                           z["lumbar_curve"] if "lumbar_curve" in z.files else None)
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"{path}: not a formcheck landmark file ({exc})") from exc
