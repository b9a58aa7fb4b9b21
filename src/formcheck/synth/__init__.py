"""Synthetic humans with exact ground truth (optional extra ``[synth]``: anny + torch==2.13.0).

A rigged anny body, posed by a per-exercise motion script, is filmed by a virtual laptop camera and
rendered by a small deterministic rasterizer; every frame comes with the exact BlazePose-33 landmarks
(3D world and 2D image), joint angles, rep boundaries, hold intervals and fault intervals.

    from formcheck.synth import ClipSpec, render_clip
    render_clip(ClipSpec("wall_squat", "too_deep", "side", seed=1), "out/")

Importing this package is cheap: torch and anny load on first use.
"""

from __future__ import annotations

from formcheck.synth.exercises import EXERCISES, SIDED, VARIANTS
from formcheck.synth.generate import SCHEMA, ClipSpec, build_clip, render_clip

__all__ = ["EXERCISES", "VARIANTS", "SIDED", "SCHEMA", "ClipSpec", "build_clip", "render_clip", "load_sidecar"]


def load_sidecar(path):
    """Read a sidecar JSON (next to an MP4, or the JSON itself) with numpy arrays for the per-frame data."""
    import json
    from pathlib import Path

    import numpy as np

    p = Path(path)
    if p.suffix != ".json":
        p = p.with_suffix(".json")
    d = json.loads(p.read_text())
    for k in ("landmarks_2d", "landmarks_3d"):
        d[k] = np.array(d[k], dtype=np.float64)
    d["visible"] = np.array(d["visible"], dtype=bool)
    d["angles"] = {k: np.array(v, dtype=np.float64) for k, v in d["angles"].items()}
    d["commanded"] = {k: np.array(v, dtype=np.float64) for k, v in d["commanded"].items()}
    return d
