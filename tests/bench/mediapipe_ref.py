"""Legacy MediaPipe Pose (full, ``mediapipe==0.10.21``) on a video: landmarks and timings to an ``.npz``.

Runs in the separate reference environment (``.venv-ref``: mediapipe 0.10.21 needs numpy < 2), started as
a subprocess by ``tests/bench/test_bench_pose.py``. It uses formcheck's reference backend
(``formcheck.pose.reference``, imported from ``src/`` — formcheck itself is not installed there) and
OpenCV's decoder (the one MediaPipe ships with).

    .venv-ref/bin/python tests/bench/mediapipe_ref.py VIDEO OUT.npz [--max-frames N]

Writes: ``xyz`` (T, 33, 3) pixels (NaN where no person), ``visibility``/``presence`` (T, 33),
``world`` (T, 33, 3), ``decode_s`` / ``infer_s`` (T,) seconds per frame, ``image_size`` (w, h),
``version``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("out")
    ap.add_argument("--max-frames", type=int, default=0)
    args = ap.parse_args(argv)

    import cv2
    import mediapipe as mp

    from formcheck.pose.reference import MediaPipeReference

    cap = cv2.VideoCapture(args.video)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    ok, frame = cap.read()
    if not ok:
        print(f"cannot read {args.video}", file=sys.stderr)
        return 2
    warm = MediaPipeReference()  # graph start and model load, not timed
    warm.update(frame, 0.0)
    warm.close()
    ref = MediaPipeReference()
    xyz, world, vis, pres, dec, inf = [], [], [], [], [], []
    i = 0
    while ok:
        t1 = time.perf_counter()
        f = ref.update(frame, i / fps)
        inf.append(time.perf_counter() - t1)
        xyz.append(f.xyz)
        world.append(f.world)
        vis.append(f.visibility)
        pres.append(f.presence)
        size = f.image_size
        i += 1
        if args.max_frames and i >= args.max_frames:
            break
        t0 = time.perf_counter()
        ok, frame = cap.read()
        dec.append(time.perf_counter() - t0)
    ref.close()
    cap.release()
    dec = dec[: len(inf)] + [0.0] * (len(inf) - len(dec))
    np.savez(args.out, xyz=np.array(xyz, np.float32), world=np.array(world, np.float32),
             visibility=np.array(vis, np.float32), presence=np.array(pres, np.float32),
             decode_s=np.array(dec), infer_s=np.array(inf), image_size=np.array(size),
             version=np.array(mp.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
