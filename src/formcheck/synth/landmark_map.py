"""Where BlazePose's 33 landmarks sit on the anny body.

Every landmark is a fixed function of the posed mesh, so it moves exactly with the skin:

=====================================  ==========================================================
BlazePose landmark                     anny source
=====================================  ==========================================================
nose, left/right eye, left/right ear   anny's COCO keypoint regressor (``data/keypoints/coco.pth``:
                                       per-vertex weights summing to 1, fitted by anny's authors to
                                       COCO-style annotations, i.e. where a human annotator clicks)
left/right shoulder, elbow, wrist      COCO regressor
left/right hip, knee, ankle            COCO regressor
left/right heel                        COCO-WholeBody ``heel`` of the same regressor
left/right foot_index                  0.75 * ``big_toe`` + 0.25 * ``small_toe`` (tip of the forefoot,
                                       near the 2nd toe, as BlazePose marks it)
left/right eye_inner / eye_outer       the mesh vertex nearest to the COCO eye point moved 16 mm
                                       towards / away from the midline (rest pose), i.e. on the
                                       eyelid corners
mouth_left / mouth_right               the mesh vertex nearest to (nose - 45 mm down, -10 mm back,
                                       +/- 22 mm sideways) among the front-facing vertices
left/right pinky                       head of bone ``finger5-1`` (the little finger's knuckle)
left/right index                       head of bone ``finger2-1`` (the index finger's knuckle)
left/right thumb                       head of bone ``finger1-2`` (the thumb's MCP knuckle)
=====================================  ==========================================================

"left" is the person's anatomical left (anny's ``.L`` side, +x at rest).

The joint-centre landmarks (hip, knee, ...) are surface-informed regressions, as BlazePose's own
training labels are: the "hip" is where annotators put it, not the femoral head. Ground-truth
angles in the sidecar are computed from these same points (:mod:`formcheck.synth.truth`).
"""

from __future__ import annotations

import functools

import numpy as np

from formcheck.landmarks import Landmark, NUM_LANDMARKS
from formcheck.synth.body import Body, coco_regressor

_COCO_DIRECT = {
    Landmark.NOSE: "nose",
    Landmark.LEFT_EYE: "left_eye", Landmark.RIGHT_EYE: "right_eye",
    Landmark.LEFT_EAR: "left_ear", Landmark.RIGHT_EAR: "right_ear",
    Landmark.LEFT_SHOULDER: "left_shoulder", Landmark.RIGHT_SHOULDER: "right_shoulder",
    Landmark.LEFT_ELBOW: "left_elbow", Landmark.RIGHT_ELBOW: "right_elbow",
    Landmark.LEFT_WRIST: "left_wrist", Landmark.RIGHT_WRIST: "right_wrist",
    Landmark.LEFT_HIP: "left_hip", Landmark.RIGHT_HIP: "right_hip",
    Landmark.LEFT_KNEE: "left_knee", Landmark.RIGHT_KNEE: "right_knee",
    Landmark.LEFT_ANKLE: "left_ankle", Landmark.RIGHT_ANKLE: "right_ankle",
    Landmark.LEFT_HEEL: "left_heel", Landmark.RIGHT_HEEL: "right_heel",
}
_BONE_HEADS = {
    Landmark.LEFT_PINKY: "finger5-1.L", Landmark.RIGHT_PINKY: "finger5-1.R",
    Landmark.LEFT_INDEX: "finger2-1.L", Landmark.RIGHT_INDEX: "finger2-1.R",
    Landmark.LEFT_THUMB: "finger1-2.L", Landmark.RIGHT_THUMB: "finger1-2.R",
}


@functools.lru_cache(maxsize=1)
def _coco_weights() -> tuple[np.ndarray, tuple[str, ...]]:
    reg = coco_regressor()
    return reg.regression_weights.cpu().numpy().astype(np.float64), tuple(reg.labels)


class LandmarkMap:
    """Computes (T, 33, 3) landmarks from posed vertices and bone heads of one body."""

    def __init__(self, body: Body) -> None:
        W, labels = _coco_weights()
        V = body.rest_vertices.shape[0]
        rows = np.zeros((NUM_LANDMARKS, V))
        for lm, name in _COCO_DIRECT.items():
            rows[lm] = W[labels.index(name)]
        for side in ("left", "right"):
            big, small = W[labels.index(f"{side}_big_toe")], W[labels.index(f"{side}_small_toe")]
            rows[Landmark[f"{side.upper()}_FOOT_INDEX"]] = 0.75 * big + 0.25 * small
        rest = body.rest_vertices
        kp = W @ rest  # (K, 3) rest keypoints, anny frame (x left, -y forward, z up)
        nose = kp[labels.index("nose")]
        front = rest[:, 1] < nose[1] + 0.04

        def nearest(p: np.ndarray, mask: np.ndarray) -> int:
            cand = np.flatnonzero(mask)
            return int(cand[np.argmin(np.linalg.norm(rest[cand] - p, axis=1))])

        for side, sx in (("left", 1.0), ("right", -1.0)):
            eye = kp[labels.index(f"{side}_eye")]
            for kind, dx in (("INNER", -0.016), ("OUTER", 0.016)):
                v = nearest(eye + np.array([sx * dx, 0.0, 0.0]), front)
                rows[Landmark[f"{side.upper()}_EYE_{kind}"], v] = 1.0
            v = nearest(nose + np.array([sx * 0.022, 0.010, -0.045]), front)
            rows[Landmark[f"MOUTH_{side.upper()}"], v] = 1.0
        self.weights = rows  # (33, V); zero rows for the bone-head landmarks
        self.bone_heads = {int(lm): body.bone(b) for lm, b in _BONE_HEADS.items()}

    def __call__(self, vertices: np.ndarray, heads: np.ndarray) -> np.ndarray:
        """vertices (T, V, 3), heads (T, B, 3) -> (T, 33, 3) in the same frame."""
        out = np.einsum("kv,tvd->tkd", self.weights, vertices)
        for lm, b in self.bone_heads.items():
            out[:, lm] = heads[:, b]
        return out
