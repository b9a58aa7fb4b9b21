"""Ground-truth measures recomputed from the exact 3D landmarks (world frame, y up, metres).

These are what a perfect pose estimator would measure. Names and definitions follow
:mod:`formcheck.measures` (clinical convention, degrees, 0 = straight); S = left/right,
mid = midpoint of left and right:

===========================  ===================================================================
knee_flexion_S               180 - angle(hip_S, knee_S, ankle_S)
hip_flexion_S                180 - angle(shoulder_S, hip_S, knee_S)  (0 = trunk and thigh in line)
hip_flexion_signed_S         the same, negative when the thigh is behind the trunk line (extension)
ankle_dorsiflexion_S         90 - angle(knee_S - ankle_S, foot_index_S - heel_S)  (+ = toes up)
elbow_flexion_S              180 - angle(shoulder_S, elbow_S, wrist_S)
shoulder_flexion_S           angle(hip_S, shoulder_S, elbow_S)  (0 arm at the side, 180 overhead)
thigh_inclination_S          |elevation of hip_S -> knee_S|, angle to the floor, 0..90
thigh_elevation_S            signed elevation of hip_S -> knee_S above the horizontal
shank_inclination_S          |elevation of knee_S -> ankle_S|, 0..90
leg_elevation_S              signed elevation of hip_S -> ankle_S
arm_elevation_S              signed elevation of shoulder_S -> wrist_S
heel_height_S                heel_S height above the lowest landmark of the frame / leg length
knee_over_toe_S              (knee_S - foot_index_S) along the horizontal heel->toe direction / leg length
trunk_inclination            angle between (shoulder_mid - hip_mid) and vertical up (0 upright, 90 lying)
trunk_to_horizontal          signed elevation of hip_mid -> shoulder_mid
hip_lift                     hip_mid height above the lowest landmark of the frame / leg length
body_line                    180 - angle(shoulder_mid, hip_mid, ankle_mid), + when the hips are
                             below the shoulder-ankle line (sag), - when above (pike)
bridge_line                  180 - angle(shoulder_mid, hip_mid, knee_mid), + when the hips are
                             above the shoulder-knee line (lumbar hyperextension), - below
pelvis_tilt / shoulder_tilt  angle of the left-right hip / shoulder line to the horizontal plane
trunk_twist                  angle between the hip line and the shoulder line
===========================  ===================================================================

leg length (per frame) = mean over sides of |hip_S - knee_S| + |knee_S - ankle_S|.
"""

from __future__ import annotations

import numpy as np

from formcheck.landmarks import Landmark as L

UNITS = {**{f"{m}_{side}": "leg lengths" for m in ("heel_height", "knee_over_toe") for side in ("left", "right")},
         "hip_lift": "leg lengths"}
UP = np.array([0.0, 1.0, 0.0])


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    nu = np.linalg.norm(u, axis=-1)
    nv = np.linalg.norm(v, axis=-1)
    c = np.einsum("...i,...i->...", u, v) / np.maximum(nu * nv, 1e-12)
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def _elev(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    return np.degrees(np.arctan2(d[:, 1], np.hypot(d[:, 0], d[:, 2])))


def _tilt(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(_elev(a, b))


def _line_sign(a: np.ndarray, m: np.ndarray, b: np.ndarray) -> np.ndarray:
    """+1 where m lies above (world y) the straight line a-b at m's position along it, else -1."""
    ab = b - a
    s = np.einsum("ti,ti->t", m - a, ab) / np.maximum(np.einsum("ti,ti->t", ab, ab), 1e-12)
    foot = a + s[:, None] * ab
    return np.where(m[:, 1] >= foot[:, 1], 1.0, -1.0)


def measures_from_landmarks(X: np.ndarray) -> dict[str, np.ndarray]:
    """(T, 33, 3) world landmarks (y up) -> {measure name: (T,) values}."""
    P = lambda lm: X[:, lm]  # noqa: E731
    out: dict[str, np.ndarray] = {}
    hip_mid = (P(L.LEFT_HIP) + P(L.RIGHT_HIP)) / 2
    sh_mid = (P(L.LEFT_SHOULDER) + P(L.RIGHT_SHOULDER)) / 2
    lateral = P(L.LEFT_HIP) - P(L.RIGHT_HIP)
    trunk = sh_mid - hip_mid
    fwd = np.cross(lateral, trunk)  # body front (x left, y up -> z forward)
    floor = X[:, :, 1].min(1)
    legs = []
    for side in ("left", "right"):
        S = side.upper()
        hip, knee, ank = P(L[f"{S}_HIP"]), P(L[f"{S}_KNEE"]), P(L[f"{S}_ANKLE"])
        legs.append(np.linalg.norm(hip - knee, axis=1) + np.linalg.norm(knee - ank, axis=1))
    leg = (legs[0] + legs[1]) / 2
    for side in ("left", "right"):
        S = side.upper()
        sh, el, wr = P(L[f"{S}_SHOULDER"]), P(L[f"{S}_ELBOW"]), P(L[f"{S}_WRIST"])
        hip, knee, ank = P(L[f"{S}_HIP"]), P(L[f"{S}_KNEE"]), P(L[f"{S}_ANKLE"])
        heel, toe = P(L[f"{S}_HEEL"]), P(L[f"{S}_FOOT_INDEX"])
        out[f"knee_flexion_{side}"] = 180.0 - _angle(hip - knee, ank - knee)
        hf = _angle(hip - sh, knee - hip)
        out[f"hip_flexion_{side}"] = hf
        out[f"hip_flexion_signed_{side}"] = np.where(np.einsum("ti,ti->t", knee - hip, fwd) >= 0, hf, -hf)
        out[f"ankle_dorsiflexion_{side}"] = 90.0 - _angle(knee - ank, toe - heel)
        out[f"elbow_flexion_{side}"] = 180.0 - _angle(sh - el, wr - el)
        out[f"shoulder_flexion_{side}"] = _angle(hip - sh, el - sh)
        out[f"thigh_inclination_{side}"] = np.abs(_elev(hip, knee))
        out[f"thigh_elevation_{side}"] = _elev(hip, knee)
        out[f"shank_inclination_{side}"] = np.abs(_elev(knee, ank))
        out[f"leg_elevation_{side}"] = _elev(hip, ank)
        out[f"arm_elevation_{side}"] = _elev(sh, wr)
        out[f"heel_height_{side}"] = (heel[:, 1] - floor) / leg
        foot = (toe - heel)[:, [0, 2]]
        foot = foot / np.maximum(np.linalg.norm(foot, axis=1, keepdims=True), 1e-9)
        out[f"knee_over_toe_{side}"] = np.einsum("ti,ti->t", (knee - toe)[:, [0, 2]], foot) / leg
    out["trunk_inclination"] = _angle(trunk, UP[None])
    out["trunk_to_horizontal"] = _elev(hip_mid, sh_mid)
    out["hip_lift"] = (hip_mid[:, 1] - floor) / leg
    ank_mid = (P(L.LEFT_ANKLE) + P(L.RIGHT_ANKLE)) / 2
    knee_mid = (P(L.LEFT_KNEE) + P(L.RIGHT_KNEE)) / 2
    out["body_line"] = (180.0 - _angle(sh_mid - hip_mid, ank_mid - hip_mid)) * -_line_sign(sh_mid, hip_mid, ank_mid)
    out["bridge_line"] = (180.0 - _angle(sh_mid - hip_mid, knee_mid - hip_mid)) * _line_sign(sh_mid, hip_mid, knee_mid)
    out["pelvis_tilt"] = _tilt(P(L.LEFT_HIP), P(L.RIGHT_HIP))
    out["shoulder_tilt"] = _tilt(P(L.LEFT_SHOULDER), P(L.RIGHT_SHOULDER))
    out["trunk_twist"] = _angle(P(L.RIGHT_HIP) - P(L.LEFT_HIP), P(L.RIGHT_SHOULDER) - P(L.LEFT_SHOULDER))
    return out


def leg_length(X: np.ndarray) -> float:
    legs = []
    for S in ("LEFT", "RIGHT"):
        hip, knee, ank = X[:, L[f"{S}_HIP"]], X[:, L[f"{S}_KNEE"]], X[:, L[f"{S}_ANKLE"]]
        legs.append(np.linalg.norm(hip - knee, axis=1) + np.linalg.norm(knee - ank, axis=1))
    return float(np.nanmean(np.concatenate(legs)))
