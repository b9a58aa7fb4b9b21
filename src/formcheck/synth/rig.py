"""Joint angles (clinical convention, degrees) -> per-bone rotations of the anny skeleton.

A *pose* is a mapping from the joint names below to (T,) arrays of degrees; missing joints are 0.
Zero everywhere is the anatomical neutral stance: standing straight, legs and arms hanging
vertically (anny's rest A-pose is first straightened by per-body *neutral corrections*), feet flat.

=================  =====================================================================
joint              positive direction
=================  =====================================================================
lumbar_flex        lumbar spine (spine05-03) bends forward; negative = extension (arching)
lumbar_lat         lumbar side bend to the body's left
lumbar_rot         lumbar axial rotation to the left
thoracic_flex/lat/rot  the same for the thoracic spine (spine02-01)
neck_flex          neck and head bend forward (chin to chest)
hip_flex_{l,r}     thigh forward/up; negative = hip extension
hip_abd_{l,r}      thigh away from the midline; negative = adduction
hip_rot_{l,r}      internal rotation (knee/toes turn in); negative = external
knee_flex_{l,r}    knee bends (heel toward buttock); 0 = straight
ankle_dorsi_{l,r}  toes toward the shin; negative = plantarflexion (pointing the foot)
shoulder_flex_{l,r}  arm forward/up (180 = overhead); negative = extension
shoulder_abd_{l,r}   arm out to the side
shoulder_rot_{l,r}   internal rotation of the upper arm
elbow_flex_{l,r}   elbow bends; 0 = straight
=================  =====================================================================

Rotations are composed in the parent's neutral axes, so e.g. the thigh direction is exactly
``R_hip @ down`` in the pelvis frame and the knee angle between thigh and shank is exactly
``knee_flex`` (the sidecar's ``commanded`` block keeps these values; its ``angles`` block is
recomputed from the landmarks, and tests check the two agree).
"""

from __future__ import annotations

import numpy as np

from formcheck.synth.body import Body

JOINTS: tuple[str, ...] = (
    "lumbar_flex", "lumbar_lat", "lumbar_rot", "thoracic_flex", "thoracic_lat", "thoracic_rot", "neck_flex",
    *(f"{j}_{s}" for j in ("hip_flex", "hip_abd", "hip_rot", "knee_flex", "ankle_dorsi",
                           "shoulder_flex", "shoulder_abd", "shoulder_rot", "elbow_flex") for s in ("l", "r")),
)

_LUMBAR = {"spine05": 0.3, "spine04": 0.35, "spine03": 0.35}
_THORACIC = {"spine02": 0.5, "spine01": 0.5}
_NECK = {"neck01": 0.3, "neck02": 0.3, "neck03": 0.2, "head": 0.2}


def rot_x(deg: np.ndarray) -> np.ndarray:
    a = np.radians(np.asarray(deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    R = np.zeros(a.shape + (3, 3))
    R[..., 0, 0] = 1
    R[..., 1, 1], R[..., 1, 2], R[..., 2, 1], R[..., 2, 2] = c, -s, s, c
    return R


def rot_y(deg: np.ndarray) -> np.ndarray:
    a = np.radians(np.asarray(deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    R = np.zeros(a.shape + (3, 3))
    R[..., 1, 1] = 1
    R[..., 0, 0], R[..., 0, 2], R[..., 2, 0], R[..., 2, 2] = c, s, -s, c
    return R


def rot_z(deg: np.ndarray) -> np.ndarray:
    a = np.radians(np.asarray(deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    R = np.zeros(a.shape + (3, 3))
    R[..., 2, 2] = 1
    R[..., 0, 0], R[..., 0, 1], R[..., 1, 0], R[..., 1, 1] = c, -s, s, c
    return R


def align(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction ``a`` onto direction ``b``."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    if np.linalg.norm(v) < 1e-12:
        return np.eye(3) if c > 0 else rot_x(180.0)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx * (1.0 / (1.0 + c))


def _angles(pose: dict[str, np.ndarray], name: str, T: int) -> np.ndarray:
    v = pose.get(name)
    if v is None:
        return np.zeros(T)
    v = np.asarray(v, dtype=np.float64)
    return np.broadcast_to(v, (T,)).copy()


def pose_length(pose: dict[str, np.ndarray]) -> int:
    lengths = {np.asarray(v).shape[0] for v in pose.values() if np.ndim(v) == 1}
    if len(lengths) != 1:
        raise ValueError(f"pose arrays must share one length, got {sorted(lengths)}")
    return lengths.pop()


def bone_rotations(body: Body, pose: dict[str, np.ndarray]) -> np.ndarray:
    """(T, B, 3, 3) world-delta rotation of every anny bone for the joint angles in ``pose`` (anny frame)."""
    unknown = set(pose) - set(JOINTS)
    if unknown:
        raise KeyError(f"unknown joints {sorted(unknown)}; expected some of {JOINTS}")
    T = pose_length(pose)
    a = {j: _angles(pose, j, T) for j in JOINTS}
    B = len(body.bone_labels)
    G = np.empty((T, B, 3, 3))
    G[:] = np.eye(3)
    h = body.rest_head
    down = np.array([0.0, 0.0, -1.0])
    explicit: dict[str, np.ndarray] = {}

    # spine and neck: a chain of partial rotations
    def chain(parts: dict[str, float], flex: np.ndarray, lat: np.ndarray, rot: np.ndarray,
              start: np.ndarray) -> np.ndarray:
        cur = start
        for bone, f in parts.items():
            cur = cur @ rot_x(f * flex) @ rot_y(f * lat) @ rot_z(f * rot)
            explicit[bone] = cur
        return cur

    eye = np.broadcast_to(np.eye(3), (T, 3, 3))
    lumbar = chain(_LUMBAR, a["lumbar_flex"], a["lumbar_lat"], a["lumbar_rot"], eye)
    thorax = chain(_THORACIC, a["thoracic_flex"], a["thoracic_lat"], a["thoracic_rot"], lumbar)
    zero = np.zeros(T)
    chain(_NECK, a["neck_flex"], zero, zero, thorax)

    for s, S, sign in (("l", "L", -1.0), ("r", "R", 1.0)):
        # legs
        n_thigh = align(h(f"lowerleg01.{S}") - h(f"upperleg01.{S}"), down)
        n_shank = align(h(f"foot.{S}") - h(f"lowerleg01.{S}"), down)
        R_hip = rot_x(-a[f"hip_flex_{s}"]) @ rot_y(sign * a[f"hip_abd_{s}"]) @ rot_z(sign * a[f"hip_rot_{s}"])
        R_knee = R_hip @ rot_x(a[f"knee_flex_{s}"])
        R_ankle = R_knee @ rot_x(-a[f"ankle_dorsi_{s}"])
        explicit[f"upperleg01.{S}"] = R_hip @ n_thigh
        explicit[f"upperleg02.{S}"] = R_hip @ n_thigh
        explicit[f"lowerleg01.{S}"] = R_knee @ n_shank
        explicit[f"lowerleg02.{S}"] = R_knee @ n_shank
        explicit[f"foot.{S}"] = R_ankle @ n_shank
        # arms (children of the thorax)
        n_uarm = align(h(f"lowerarm01.{S}") - h(f"upperarm01.{S}"), down)
        n_farm = align(h(f"wrist.{S}") - h(f"lowerarm01.{S}"), down)
        R_sh = thorax @ rot_x(-a[f"shoulder_flex_{s}"]) @ rot_y(sign * a[f"shoulder_abd_{s}"]) \
            @ rot_z(sign * a[f"shoulder_rot_{s}"])
        R_el = R_sh @ rot_x(-a[f"elbow_flex_{s}"])
        explicit[f"upperarm01.{S}"] = R_sh @ n_uarm
        explicit[f"upperarm02.{S}"] = R_sh @ n_uarm
        explicit[f"lowerarm01.{S}"] = R_el @ n_farm
        explicit[f"lowerarm02.{S}"] = R_el @ n_farm

    # every other bone turns with its parent (bones are ordered parents first in anny)
    index = {lab: i for i, lab in enumerate(body.bone_labels)}
    for lab, R in explicit.items():
        G[:, index[lab]] = R
    explicit_idx = {index[lab] for lab in explicit}
    for i in range(1, B):
        if i not in explicit_idx:
            G[:, i] = G[:, body.bone_parents[i]]
    return G
