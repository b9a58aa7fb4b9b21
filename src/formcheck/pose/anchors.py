"""SSD anchors of the BlazePose detector (MediaPipe's ``SsdAnchorsCalculator`` options of
``pose_detection_cpu.pbtxt``): 5 layers, strides 8/16/32/32/32, one aspect ratio plus the interpolated
scale, fixed anchor size, offset 0.5 -> 2254 anchors on a 224x224 input.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

DETECTOR_INPUT = 224
STRIDES = (8, 16, 32, 32, 32)
NUM_ANCHORS = 2254


def ssd_anchors(input_size: int = DETECTOR_INPUT, strides: tuple[int, ...] = STRIDES,
                anchor_offset: float = 0.5, aspect_ratios: tuple[float, ...] = (1.0,),
                interpolated_scale_aspect_ratio: float = 1.0) -> np.ndarray:
    """Anchor centres, (N, 2) float32 ``(x, y)`` in [0, 1] of the square detector input.

    Consecutive layers with the same stride share one feature map; each cell of a map holds
    ``len(aspect_ratios) + 1`` anchors per layer (the +1 is the interpolated-scale anchor). Anchors are
    ordered row by row (y, then x), then by anchor within the cell, as MediaPipe orders them.
    """
    centres: list[np.ndarray] = []
    layer = 0
    n = len(strides)
    while layer < n:
        last = layer
        per_cell = 0
        while last < n and strides[last] == strides[layer]:
            per_cell += len(aspect_ratios) + (1 if interpolated_scale_aspect_ratio > 0 else 0)
            last += 1
        fm = int(np.ceil(input_size / strides[layer]))
        ys, xs = np.meshgrid(np.arange(fm), np.arange(fm), indexing="ij")
        cx = (xs.ravel() + anchor_offset) / fm
        cy = (ys.ravel() + anchor_offset) / fm
        grid = np.stack([cx, cy], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
        layer = last
    return np.concatenate(centres).astype(np.float32)


@lru_cache(maxsize=1)
def default_anchors() -> np.ndarray:
    a = ssd_anchors()
    a.setflags(write=False)
    return a
