"""Motion scripts: one per exercise of the program, correct and named faulty variants.

Each script turns a seeded random generator and the body's segment lengths into a :class:`Script`:
joint angles per frame (natural timing from :func:`formcheck.synth.motion.timeline`), where the pelvis
points, what touches the floor, and the reps / holds / faults it contains.

Variants: ``correct`` for every exercise, plus faulty ones named after the spec fault ids
(``too_deep``, ``trunk_flexion``, ``knee_valgus``, ``knees_past_toes``, ``knee_bent``, ``lift_too_high``,
``back_arch``, ``hips_too_high``, ``hips_sagging``, ``hips_piked``, ``trunk_rotation``, ``back_sag``,
``ballistic``) and the non-fault deviations ``shallow`` (reps short of the prescribed range: incomplete
reps), ``short_hold`` (one hold cut short) and ``released_early`` (a stretch let go early).

Fault intervals: where the fault's injected deviation is at least half of its peak, or, where a
clinical threshold defines the fault (``too_deep``: knee flexion past 90 deg; ``lift_too_high``: heel
more than 12 in = 0.305 m up; ``knees_past_toes``: knee ahead of the toes), where that threshold is
crossed. ``ballistic`` spans each jerky rep.

Sagittal-plane bookkeeping: a segment's *pitch* psi (deg) is its rotation from the standing
orientation about the body's left-right axis, positive forwards. Then thigh = pelvis - hip_flex,
shank = thigh + knee_flex, foot = shank - ankle_dorsi, upper arm = thorax - shoulder_flex,
forearm = upper arm - elbow_flex; a foot flat on the floor has pitch 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from formcheck.errors import OptionsError
from formcheck.synth.motion import Script, Timeline, ease, intervals, timeline, tremor

EXERCISES: tuple[str, ...] = (
    "ankle_pumps", "heel_slides", "abdominal_contraction", "wall_squat", "heel_raises", "straight_leg_raise",
    "single_knee_to_chest", "hamstring_stretch", "hip_flexor_stretch", "piriformis_stretch", "glute_bridge",
    "bird_dog", "plank", "dead_bug", "pelvic_tilt", "prone_press_up", "squat",
)


@dataclass
class Ctx:
    rng: np.random.Generator
    fps: float
    variant: str
    side: str  # working side, "left" or "right" ("left" for bilateral exercises: camera side)
    lens: dict[str, float]  # segment lengths (m)
    heel_r: float  # distance hip joint -> heel landmark, straight leg (m)
    heel_drop: float  # heel landmark below the hip-ankle axis, straight leg lying (m)
    rest: dict | None = None  # rest-pose joint heads (anny frame) and body depths, see generate.build_clip

    @property
    def s(self) -> str:
        return self.side[0]

    @property
    def o(self) -> str:
        return "r" if self.side == "left" else "l"


def sag(psi: np.ndarray) -> np.ndarray:
    """Unit direction (z, y) of a segment of pitch psi (the standing 'down' axis rotated forwards)."""
    a = np.radians(psi)
    return np.stack([-np.sin(a), -np.cos(a)], -1)


def pitch_of(d: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(-d[..., 0], -d[..., 1]))


def two_link(H: np.ndarray, A: np.ndarray, L1: float, L2: float, bend: np.ndarray) -> np.ndarray:
    """Middle joint K of a two-link chain H-K-A (lengths L1, L2), on the side of ``bend`` (a 2D vector)."""
    d = A - H
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    dist_c = np.clip(dist, abs(L1 - L2) + 1e-6, L1 + L2 - 1e-6)
    u = d / np.maximum(dist, 1e-9)
    a = (L1 ** 2 - L2 ** 2 + dist_c ** 2) / (2 * dist_c)
    hgt = np.sqrt(np.maximum(L1 ** 2 - a ** 2, 0.0))
    perp = np.stack([-u[..., 1], u[..., 0]], -1)
    sgn = np.sign(np.einsum("...i,...i->...", perp, np.broadcast_to(bend, perp.shape)))[..., None]
    return H + u * a + perp * hgt * np.where(sgn == 0, 1, sgn)


def _rot2(y: np.ndarray, z: np.ndarray, deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation about the x axis (anny or world): (y, z) -> (cos y - sin z, sin y + cos z)."""
    a = np.radians(deg)
    return np.cos(a) * y - np.sin(a) * z, np.sin(a) * y + np.cos(a) * z


def shoulder_world(c: Ctx, pitch: np.ndarray, lumbar: np.ndarray, thoracic: np.ndarray) -> np.ndarray:
    """(T, 2) world (z, y) of the shoulder joint for a body lying on its pelvis (y = height above the
    floor of a hip joint resting ``rest['hip_depth']`` above it), by forward kinematics of the rig's spine."""
    r = c.rest
    assert r is not None
    chain = [("spine05", 0.3, "l"), ("spine04", 0.35, "l"), ("spine03", 0.35, "l"), ("spine02", 0.5, "t"),
             ("spine01", 0.5, "t")]
    heads = r["heads"]  # label -> (y, z) anny
    T = len(pitch)
    pos_y, pos_z = np.full(T, heads["spine05"][0]), np.full(T, heads["spine05"][1])
    ang = np.zeros(T)
    for k, (bone, f, grp) in enumerate(chain):
        ang = ang + f * (lumbar if grp == "l" else thoracic)
        nxt = chain[k + 1][0] if k + 1 < len(chain) else "upperarm01.L"
        dy, dz = heads[nxt][0] - heads[bone][0], heads[nxt][1] - heads[bone][1]
        ry, rz = _rot2(np.full(T, dy), np.full(T, dz), ang)
        pos_y, pos_z = pos_y + ry, pos_z + rz
    # anny (y, z) -> world: world y = anny z, world z = -anny y; then the pelvis pitch about world x
    def world(y, z):
        wy, wz = z, -y
        return _rot2(wy, wz, pitch)
    sy, sz = world(pos_y, pos_z)
    hy, hz = world(np.full(T, heads["upperleg01.L"][0]), np.full(T, heads["upperleg01.L"][1]))
    return np.stack([sz - hz, sy - hy + r["hip_depth"]], -1)


def _full(T: int, v: float) -> np.ndarray:
    return np.full(T, float(v))


def _jitter(c: Ctx, pose: dict[str, np.ndarray], joints: list[str], amp: float = 0.6) -> None:
    T = len(next(iter(pose.values())))
    for j in joints:
        pose[j] = pose.get(j, np.zeros(T)) + tremor(c.rng, T, c.fps, amp)


def _fault(tl: Timeline, fid: str, mask: np.ndarray) -> list[dict]:
    return [{"id": fid, "start_s": round(a, 4), "end_s": round(b, 4)} for a, b in intervals(mask, tl.fps)]


def _half(tl: Timeline, env: np.ndarray) -> np.ndarray:
    return env >= 0.5 * max(env.max(), 1e-9)


def _lying_arms(T: int) -> dict[str, np.ndarray]:
    return {"shoulder_abd_l": _full(T, 12), "shoulder_abd_r": _full(T, 12),
            "elbow_flex_l": _full(T, 10), "elbow_flex_r": _full(T, 10)}


def _standing_arms(T: int) -> dict[str, np.ndarray]:
    return {"shoulder_abd_l": _full(T, 8), "shoulder_abd_r": _full(T, 8),
            "elbow_flex_l": _full(T, 12), "elbow_flex_r": _full(T, 12)}


def _hook(c: Ctx, T: int, side: str, hip: float = 50.0) -> dict[str, np.ndarray]:
    """Hook lying for one leg: knee bent, foot flat on the floor (supine, pelvis pitch -90)."""
    knee = 2 * hip - 10
    # foot flat: foot pitch 0 = shank pitch - dorsi; shank = -90 - hip + knee
    shank = -90 - hip + knee
    return {f"hip_flex_{side}": _full(T, hip), f"knee_flex_{side}": _full(T, knee),
            f"ankle_dorsi_{side}": _full(T, float(np.clip(shank, -45, 30)))}


# ---------------------------------------------------------------------------------------------------
def ankle_pumps(c: Ctx) -> Script:
    v = c.variant
    tl = timeline(c.rng, c.fps, reps=3, up=0.9, down=0.9, hold=0.3, rest=0.8,
                  amplitudes=[1.0, 0.35, 1.0] if v == "shallow" else None,
                  ballistic=[0, 1, 2] if v == "ballistic" else None)
    T = len(tl.p)
    pose = _lying_arms(T)
    dorsi = -25 + 45 * tl.p
    for s in "lr":
        pose[f"ankle_dorsi_{s}"] = dorsi + tremor(c.rng, T, c.fps, 0.8)
    faults = _fault(tl, "ballistic", tl.mask([r for r in range(3) if tl.reps[r].ballistic])) if v == "ballistic" else []
    return Script("ankle_pumps", v, c.fps, pose, _full(T, -90), np.zeros(T), tl, None, anchor="pelvis",
                  placement="floor", environment={"mat": True}, faults=faults,
                  notes="supine, legs straight; both ankles from 25 deg plantarflexion to 20 deg dorsiflexion")


def heel_slides(c: Ctx) -> Script:
    v = c.variant
    tl = timeline(c.rng, c.fps, reps=3, up=1.6, down=1.6, hold=0.4, rest=1.0,
                  amplitudes=[1.0, 0.4, 1.0] if v == "shallow" else None,
                  ballistic=[0, 1, 2] if v == "ballistic" else None)
    T = len(tl.p)
    L1, L2 = c.lens["thigh"], c.lens["shank"]
    pose = _lying_arms(T)
    knee = 4 + 86 * tl.p
    # hip joint 0.10 m, ankle 0.08 m above the floor: the heel slides along it
    dy = 0.02
    d = np.sqrt(L1 ** 2 + L2 ** 2 - 2 * L1 * L2 * np.cos(np.radians(180 - knee)))
    A = np.stack([np.sqrt(np.maximum(d ** 2 - dy ** 2, 1e-9)), _full(T, -dy)], -1)
    K = two_link(np.zeros((T, 2)), A, L1, L2, np.array([0.0, 1.0]))
    thigh = pitch_of(K)
    shank = pitch_of(A - K)
    s = c.s
    pose[f"hip_flex_{s}"] = -90 - thigh
    pose[f"knee_flex_{s}"] = shank - thigh
    pose[f"ankle_dorsi_{s}"] = np.clip((1 - ease(tl.p)) * -5 + ease(tl.p) * shank, -40, 20)
    _jitter(c, pose, [f"hip_flex_{s}"], 0.4)
    faults = _fault(tl, "ballistic", tl.mask()) if v == "ballistic" else []
    return Script("heel_slides", v, c.fps, pose, _full(T, -90), np.zeros(T), tl, c.side, anchor="pelvis",
                  placement="floor", environment={"mat": True}, faults=faults,
                  notes="supine; the working heel slides towards the buttock to ~90 deg knee flexion and back")


def _hook_hold(c: Ctx, name: str, tilt: float, notes: str) -> Script:
    v = c.variant
    holds = [5.0, 2.0, 5.0] if v == "short_hold" else [5.0, 5.0, 5.0]
    tl = timeline(c.rng, c.fps, reps=3, up=1.0, down=1.0, holds=holds, rest=1.5)
    T = len(tl.p)
    pose = _lying_arms(T)
    for s in "lr":
        pose.update(_hook(c, T, s))
    # posterior pelvic tilt (pelvis top towards the floor), lumbar flattening; thighs stay put
    a = tilt * tl.p
    pitch = -90 - a
    pose["lumbar_flex"] = a
    for s in "lr":
        pose[f"hip_flex_{s}"] = pose[f"hip_flex_{s}"] - a
    _jitter(c, pose, ["neck_flex"], 0.5)
    for r in tl.reps:
        r.faults = []
    return Script(name, v, c.fps, pose, pitch, np.zeros(T), tl, None, anchor="feet", placement="floor",
                  environment={"mat": True}, hold_target_s=5.0, notes=notes)


def abdominal_contraction(c: Ctx) -> Script:
    return _hook_hold(c, "abdominal_contraction", 4.0,
                      "hook lying; abdominal bracing held 5 s (a slight posterior pelvic tilt, 4 deg)")


def pelvic_tilt(c: Ctx) -> Script:
    return _hook_hold(c, "pelvic_tilt", 12.0,
                      "hook lying; posterior pelvic tilt (12 deg) flattening the low back, held 5 s")


def _standing_squat(c: Ctx, T: int, knee: np.ndarray, d_ankle: float | None, trunk_extra: np.ndarray,
                    lumbar_extra: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
    """Knee flexion -> sagittal joint angles. With ``d_ankle`` (ankle ahead of the hip, m) the hip slides
    down a wall (trunk upright), else a free squat (shin lean 0.35 x knee, trunk leans to balance)."""
    L1, L2 = c.lens["thigh"], c.lens["shank"]
    if d_ankle is not None:
        # d = L1 sin(th) - L2 sin(k - th), solved for the thigh inclination th by bisection
        lo, hi = np.full(T, -60.0), np.full(T, 120.0)
        for _ in range(60):
            mid = (lo + hi) / 2
            f = L1 * np.sin(np.radians(mid)) - L2 * np.sin(np.radians(knee - mid)) - d_ankle
            hi = np.where(f > 0, mid, hi)
            lo = np.where(f > 0, lo, mid)
        thigh_inc = (lo + hi) / 2
        trunk = trunk_extra
    else:
        shin = 0.35 * knee
        thigh_inc = knee - shin
        trunk = 0.45 * thigh_inc + trunk_extra
    shin = knee - thigh_inc
    pitch = trunk - lumbar_extra  # the lumbar rounding adds to the pelvis's own forward pitch
    pose = {}
    for s in "lr":
        pose[f"hip_flex_{s}"] = thigh_inc + pitch
        pose[f"knee_flex_{s}"] = knee
        pose[f"ankle_dorsi_{s}"] = shin
    pose["lumbar_flex"] = lumbar_extra
    return pose, pitch, thigh_inc


def wall_squat(c: Ctx) -> Script:
    v = c.variant
    holds = [5.0, 2.0] if v == "short_hold" else [5.0, 5.0]
    # the knee angle measured on the landmarks at the hold (the prescription: 45 deg)
    target = {"too_deep": 102.0, "shallow": 22.0, "knees_past_toes": 60.0}.get(v, 45.0)
    tl = timeline(c.rng, c.fps, reps=2, up=1.8, down=1.6, holds=holds, rest=1.5,
                  ballistic=[0, 1] if v == "ballistic" else None)
    T = len(tl.p)
    env = tl.envelope([0, 1])
    # knees past the toes: heels almost at the wall and a little deeper
    d_ankle = -0.08 if v == "knees_past_toes" else 0.22
    trunk_extra = 22 * env if v == "trunk_flexion" else np.zeros(T)
    lumbar = 14 * env if v == "trunk_flexion" else np.zeros(T)
    shake = {j: tremor(c.rng, T, c.fps, 0.5) for j in ("lumbar_flex", "shoulder_flex_l", "shoulder_flex_r")}

    def build(peak: float) -> dict[str, np.ndarray]:
        knee = 3 + (peak - 3) * tl.p
        pose, pitch, _ = _standing_squat(c, T, knee, d_ankle, trunk_extra, lumbar)
        if v == "trunk_flexion":
            pose["thoracic_flex"] = 12 * env
        if v == "knee_valgus":
            for s in "lr":
                pose[f"hip_abd_{s}"] = -9 * env
                pose[f"hip_rot_{s}"] = 14 * env
        pose.update(_standing_arms(T))
        for j, w in shake.items():
            pose[j] = pose.get(j, np.zeros(T)) + w
        return pose, pitch

    state = {"peak": target}
    pose, pitch = build(state["peak"])
    at_peak = tl.p > 0.98

    def refine(measures: dict[str, np.ndarray], marks: np.ndarray) -> dict[str, np.ndarray] | None:
        got = float(np.mean(np.maximum(measures["knee_flexion_left"], measures["knee_flexion_right"])[at_peak]))
        if abs(got - target) < 0.5:
            return None
        state["peak"] += target - got
        return build(state["peak"])[0]

    faults: list[dict] = []
    if v in ("trunk_flexion", "knee_valgus"):
        faults = _fault(tl, v, _half(tl, env))
    elif v == "ballistic":
        faults = _fault(tl, "ballistic", tl.mask())
    # too_deep and knees_past_toes: from the rendered body (generate.sidecar)
    sc = Script("wall_squat", v, c.fps, pose, pitch, np.zeros(T), tl, None, anchor="feet", placement="table",
                environment={"wall": True}, faults=faults, hold_target_s=5.0, refine=refine,
                notes=f"back against a wall, ankles {d_ankle:+.2f} m ahead of the hips, knees to {target:.0f} "
                      "deg, hold 5 s")
    return sc


def squat(c: Ctx) -> Script:
    v = c.variant
    tl = timeline(c.rng, c.fps, reps=3, up=1.3, down=1.2, hold=0.2, rest=0.9,
                  amplitudes=[1.0, 0.4, 0.45] if v == "shallow" else None,
                  ballistic=[0, 1, 2] if v == "ballistic" else None)
    T = len(tl.p)
    knee = 4 + 91 * tl.p
    env = tl.envelope([1, 2]) if v == "trunk_flexion" else np.zeros(T)
    pose, pitch, _ = _standing_squat(c, T, knee, None, 22 * env, 20 * env)
    pose["thoracic_flex"] = 12 * env
    for s in "lr":
        pose[f"shoulder_flex_{s}"] = 70 * ease(tl.p)
        pose[f"elbow_flex_{s}"] = _full(T, 10)
        pose[f"shoulder_abd_{s}"] = _full(T, 6)
    _jitter(c, pose, ["lumbar_flex", "neck_flex"], 0.5)
    faults = _fault(tl, "trunk_flexion", _half(tl, env)) if v == "trunk_flexion" else (
        _fault(tl, "ballistic", tl.mask()) if v == "ballistic" else [])
    return Script("squat", v, c.fps, pose, pitch, np.zeros(T), tl, None, anchor="feet", placement="table",
                  faults=faults, notes="bodyweight squat to ~95 deg knee flexion, arms forward")


def heel_raises(c: Ctx) -> Script:
    v = c.variant
    holds = [5.0, 2.0] if v == "short_hold" else [5.0, 5.0]
    tl = timeline(c.rng, c.fps, reps=2, up=1.0, down=1.0, holds=holds, rest=1.5,
                  ballistic=[0, 1] if v == "ballistic" else None)
    T = len(tl.p)
    pose = _standing_arms(T)
    for s in "lr":
        pose[f"ankle_dorsi_{s}"] = -28 * tl.p
    _jitter(c, pose, ["lumbar_flex"], 0.4)
    faults = _fault(tl, "ballistic", tl.mask()) if v == "ballistic" else []
    # rising on the toes pitches the body forward over the forefoot slightly
    pitch = 3 * tl.p
    for s in "lr":
        pose[f"hip_flex_{s}"] = pitch.copy()
        pose[f"ankle_dorsi_{s}"] = pose[f"ankle_dorsi_{s}"] + pitch
    return Script("heel_raises", v, c.fps, pose, pitch, np.zeros(T), tl, None, anchor="toes", placement="table",
                  faults=faults, hold_target_s=5.0, notes="rise onto the toes (28 deg plantarflexion), hold 5 s")


def straight_leg_raise(c: Ctx) -> Script:
    v = c.variant
    lift = {"lift_too_high": 0.50, "shallow": 0.07}.get(v, 0.22)  # heel lift (m); prescription 6-12 in
    tl = timeline(c.rng, c.fps, reps=3, up=1.5, down=1.5, hold=3.0, rest=1.3,
                  ballistic=[0, 1, 2] if v == "ballistic" else None)
    T = len(tl.p)
    s, o = c.s, c.o
    pose = _lying_arms(T)
    pose.update(_hook(c, T, o, hip=45.0))
    # hip angle that lifts the heel landmark by `lift`: heel at radius r, drop h below the leg axis
    r, h = c.heel_r, c.heel_drop
    phi0 = np.degrees(np.arctan2(h, r))
    R = np.hypot(r, h)
    phi = np.degrees(np.arcsin(np.clip(lift / R + np.sin(np.radians(-phi0)), -1, 1))) + phi0
    env = tl.envelope([0, 1, 2])
    knee_bend = 28 * env if v == "knee_bent" else np.zeros(T)
    shake = tremor(c.rng, T, c.fps, 0.5)
    hip = phi * tl.p + 0.5 * knee_bend + shake  # a bent knee still lifts the foot a similar height
    pose[f"hip_flex_{s}"] = hip
    pose[f"knee_flex_{s}"] = 2 + knee_bend
    pose[f"ankle_dorsi_{s}"] = _full(T, 5)
    pitch = _full(T, -90.0)
    if v == "back_arch":
        a = 14 * env  # anterior pelvic tilt with lumbar extension: the low back lifts off the floor
        pitch = pitch + a
        pose["lumbar_flex"] = -a
        pose[f"hip_flex_{s}"] = pose[f"hip_flex_{s}"] + a
        pose[f"hip_flex_{o}"] = pose[f"hip_flex_{o}"] + a
    at_peak = tl.p > 0.98
    state = {"phi": float(phi)}
    heel = 29 if c.side == "left" else 30  # Landmark.LEFT_HEEL / RIGHT_HEEL

    def refine(measures: dict[str, np.ndarray], marks: np.ndarray) -> dict[str, np.ndarray] | None:
        hy = marks[:, heel, 1]
        got = float(np.mean((hy - hy.min())[at_peak]))
        if abs(got - lift) < 0.004 or got <= 0:
            return None
        new = state["phi"] * lift / got
        out = dict(pose)
        out[f"hip_flex_{s}"] = pose[f"hip_flex_{s}"] + (new - phi) * tl.p
        state["phi"] = new
        pose[f"hip_flex_{s}"] = out[f"hip_flex_{s}"]
        return out

    faults: list[dict] = []
    if v == "knee_bent":
        faults = _fault(tl, "knee_bent", _half(tl, env))
    elif v == "back_arch":
        faults = _fault(tl, "back_arch", _half(tl, env))
    elif v == "lift_too_high":
        faults = []  # from the rendered heel height (see generate: threshold 0.305 m)
    elif v == "ballistic":
        faults = _fault(tl, "ballistic", tl.mask())
    sc = Script("straight_leg_raise", v, c.fps, pose, pitch, np.zeros(T), tl, c.side, anchor="pelvis",
                placement="floor", environment={"mat": True}, faults=faults, hold_target_s=3.0, refine=refine,
                notes=f"supine, other knee bent; straight leg lifted so the heel rises {lift:.2f} m, hold 3 s")
    sc.heel_lift_m = lift  # type: ignore[attr-defined]
    return sc


def _stretch(c: Ctx, name: str, build: Callable[[Ctx, np.ndarray, int], tuple[dict, np.ndarray, np.ndarray]],
             placement: str = "floor", **kw) -> Script:
    v = c.variant
    hold = 9.0 if v == "released_early" else 20.0
    tl = timeline(c.rng, c.fps, reps=1, up=2.0, down=2.0, holds=[hold], lead_in=1.5, lead_out=1.5)
    T = len(tl.p)
    pose, pitch, roll = build(c, tl.p, T)
    _jitter(c, pose, ["neck_flex", "lumbar_flex"], 0.4)
    return Script(name, v, c.fps, pose, pitch, roll, tl, c.side, placement=placement, hold_target_s=20.0, **kw)


def single_knee_to_chest(c: Ctx) -> Script:
    def build(c, p, T):
        pose = _lying_arms(T)
        s, o = c.s, c.o
        pose.update(_hook(c, T, o))
        pose.update(_hook(c, T, s))
        pose[f"hip_flex_{s}"] = 50 + 72 * p
        pose[f"knee_flex_{s}"] = 90 + 25 * p
        pose[f"ankle_dorsi_{s}"] = (1 - p) * pose[f"ankle_dorsi_{s}"] + p * -10
        for a in "lr":  # hands to the shin
            pose[f"shoulder_flex_{a}"] = 75 * p
            pose[f"elbow_flex_{a}"] = 10 + 50 * p
            pose[f"shoulder_abd_{a}"] = 12 + 3 * p
        return pose, _full(T, -90), np.zeros(T)

    return _stretch(c, "single_knee_to_chest", build, anchor="pelvis", environment={"mat": True},
                    notes="supine, hook lying; one knee pulled to the chest with both hands, hold 20 s")


def hamstring_stretch(c: Ctx) -> Script:
    def build(c, p, T):
        pose = _lying_arms(T)
        s, o = c.s, c.o
        pose.update(_hook(c, T, o))
        hp = ease(np.clip(p * 2, 0, 1))  # thigh up first,
        kp = ease(np.clip(p * 2 - 1, 0, 1))  # then the knee straightens
        pose[f"hip_flex_{s}"] = 50 + 35 * hp
        pose[f"knee_flex_{s}"] = 90 - 78 * kp
        pose[f"ankle_dorsi_{s}"] = -15 + 20 * kp
        for a in "lr":  # hands behind the thigh
            pose[f"shoulder_flex_{a}"] = 38 * hp
            pose[f"elbow_flex_{a}"] = 10 + 20 * hp
        return pose, _full(T, -90), np.zeros(T)

    return _stretch(c, "hamstring_stretch", build, anchor="pelvis", environment={"mat": True},
                    notes="supine; thigh held vertical behind the knee, knee straightened, hold 20 s")


def hip_flexor_stretch(c: Ctx) -> Script:
    def build(c, p, T):
        pose = _lying_arms(T)
        s, o = c.s, c.o
        # the other knee is held to the chest; the working leg hangs over the end of the bed
        # start: lying with both lower legs hanging over the end of the bed
        pose[f"hip_flex_{o}"] = -6 + 121 * ease(np.clip(p * 1.5, 0, 1))
        pose[f"knee_flex_{o}"] = 75 + 40 * p
        pose[f"ankle_dorsi_{o}"] = _full(T, -15)
        pose[f"hip_flex_{s}"] = -6 - 12 * p
        pose[f"knee_flex_{s}"] = 75 + 5 * p
        pose[f"ankle_dorsi_{s}"] = _full(T, -15)
        for a in "lr":
            pose[f"shoulder_flex_{a}"] = 50 * p
            pose[f"elbow_flex_{a}"] = 10 + 100 * p
        return pose, _full(T, -90), np.zeros(T)

    return _stretch(c, "hip_flexor_stretch", build, placement="table", anchor="pelvis", ground="torso",
                    support_height=0.55, environment={"bed": True},
                    notes="supine on a bed, hips at its end; the other knee held to the chest while the working "
                          "leg hangs down (hip extension 18 deg from the trunk line), hold 20 s")


def piriformis_stretch(c: Ctx) -> Script:
    def build(c, p, T):
        pose = _lying_arms(T)
        s, o = c.s, c.o
        pose.update(_hook(c, T, o))
        # working leg crossed: ankle on the other knee (figure 4), then the other thigh pulled in
        cross = ease(np.clip(p * 2, 0, 1))
        pull = ease(np.clip(p * 2 - 1, 0, 1))
        pose[f"hip_flex_{s}"] = 50 + 25 * cross + 25 * pull
        pose[f"hip_abd_{s}"] = 40 * cross
        pose[f"hip_rot_{s}"] = -50 * cross
        pose[f"knee_flex_{s}"] = 90 + 15 * cross
        pose[f"ankle_dorsi_{s}"] = _full(T, 0)
        pose[f"hip_flex_{o}"] = 50 + 40 * pull
        pose[f"knee_flex_{o}"] = 90 + 10 * pull
        pose[f"ankle_dorsi_{o}"] = (1 - pull) * pose[f"ankle_dorsi_{o}"] + pull * -15
        for a in "lr":
            pose[f"shoulder_flex_{a}"] = 55 * pull
            pose[f"elbow_flex_{a}"] = 10 + 80 * pull
        return pose, _full(T, -90), np.zeros(T)

    return _stretch(c, "piriformis_stretch", build, anchor="pelvis", environment={"mat": True},
                    notes="supine; working ankle crossed over the other knee (figure 4), other thigh pulled in, "
                          "hold 20 s")


def glute_bridge(c: Ctx) -> Script:
    v = c.variant
    tl = timeline(c.rng, c.fps, reps=3, up=1.4, down=1.4, hold=3.0, rest=1.2,
                  ballistic=[0, 1, 2] if v == "ballistic" else None,
                  amplitudes=[1.0, 0.45, 1.0] if v == "shallow" else None)
    T = len(tl.p)
    L1, L2, Lt = c.lens["thigh"], c.lens["shank"], c.lens["trunk"]
    # sagittal plane (z towards the feet, y up): shoulder joint S, hip joint H, ankle A fixed on the floor
    S = np.array([0.0, 0.06])
    hip0 = 50.0
    beta0 = 5.0
    H0 = S + Lt * np.array([np.cos(np.radians(beta0)), np.sin(np.radians(beta0))])
    K0 = H0 + L1 * sag(np.array(-90 - hip0))
    A = K0 + L2 * sag(np.array(-90 - hip0 + (2 * hip0 - 10)))
    A = np.array([A[0], 0.085])
    env = tl.envelope([0, 1, 2])
    # top of the bridge: shoulders-hips-knees in line; hips_too_high overshoots, sagging stops short
    beta_top = np.degrees(np.arcsin(np.clip((A[1] + L2 * 0.9 - S[1]) / (Lt + L1), -1, 1)))
    extra = {"hips_too_high": 11.0, "hips_sagging": -12.0}.get(v, 0.0)
    beta = beta0 + (beta_top - beta0) * tl.p + extra * env
    H = S + Lt * np.stack([np.cos(np.radians(beta)), np.sin(np.radians(beta))], -1)
    K = two_link(H, np.broadcast_to(A, H.shape), L1, L2, np.array([0.3, 1.0]))
    pelvis = -90 - beta
    thigh = pitch_of(K - H)
    shank = pitch_of(A - K)
    pose = _lying_arms(T)
    lumbar = np.zeros(T)
    if v == "hips_too_high":  # the extra lift comes from lumbar hyperextension
        lumbar = -extra * env * 0.8
    for s in "lr":
        pose[f"hip_flex_{s}"] = pelvis - thigh
        pose[f"knee_flex_{s}"] = shank - thigh
        pose[f"ankle_dorsi_{s}"] = np.clip(shank, -40, 35)
    pose["lumbar_flex"] = lumbar
    pitch = pelvis - lumbar  # keep the thorax on the S-H line
    for s in "lr":
        pose[f"hip_flex_{s}"] = pitch - thigh
        pose[f"shoulder_flex_{s}"] = -(beta - 2)  # arms stay on the floor
    _jitter(c, pose, ["neck_flex"], 0.5)
    faults: list[dict] = []
    if v in ("hips_too_high", "hips_sagging"):
        faults = _fault(tl, v, _half(tl, env) & (tl.p > 0.5))
    elif v == "ballistic":
        faults = _fault(tl, "ballistic", tl.mask())
    return Script("glute_bridge", v, c.fps, pose, pitch, np.zeros(T), tl, None, anchor="feet", placement="floor",
                  environment={"mat": True}, faults=faults, hold_target_s=3.0,
                  notes="hook lying; hips lifted until shoulders, hips and knees are in line, hold 3 s")


def _quadruped(T: int) -> dict[str, np.ndarray]:
    pose = {}
    for s in "lr":
        pose[f"hip_flex_{s}"] = _full(T, 90)
        pose[f"knee_flex_{s}"] = _full(T, 90)
        pose[f"ankle_dorsi_{s}"] = _full(T, -40)
        pose[f"shoulder_flex_{s}"] = _full(T, 90)
        pose[f"elbow_flex_{s}"] = _full(T, 3)
    pose["neck_flex"] = _full(T, -20)
    return pose


def bird_dog(c: Ctx) -> Script:
    v = c.variant
    first = c.s
    sides = [first, "r" if first == "l" else "l", first]
    tl = timeline(c.rng, c.fps, reps=3, up=1.3, down=1.3, hold=3.0, rest=1.0,
                  sides=["left" if s == "l" else "right" for s in sides],
                  ballistic=[0, 1, 2] if v == "ballistic" else None)
    T = len(tl.p)
    pose = _quadruped(T)
    pitch = _full(T, 90.0)
    roll = np.zeros(T)
    for i, leg in enumerate(sides):
        m = tl.rep_index == i
        arm = "r" if leg == "l" else "l"
        p = np.where(m, tl.p, 0.0)
        pose[f"hip_flex_{leg}"] = pose[f"hip_flex_{leg}"] - 90 * p
        pose[f"knee_flex_{leg}"] = pose[f"knee_flex_{leg}"] - 85 * p
        pose[f"ankle_dorsi_{leg}"] = pose[f"ankle_dorsi_{leg}"] + 15 * p
        pose[f"shoulder_flex_{arm}"] = pose[f"shoulder_flex_{arm}"] + 85 * p
        if v == "trunk_rotation":  # the pelvis rolls open towards the lifted leg
            sign = 1.0 if leg == "l" else -1.0
            roll = roll + sign * 18 * p
    env = tl.envelope([0, 1, 2])
    if v == "trunk_rotation":
        pose["lumbar_rot"] = -roll * 0.9  # the shoulders stay roughly level
    if v == "back_sag":
        pose["lumbar_flex"] = -20 * env
        pitch = pitch + 10 * env
        for s in "lr":
            pose[f"hip_flex_{s}"] = pose[f"hip_flex_{s}"] + 10 * env
            pose[f"shoulder_flex_{s}"] = pose[f"shoulder_flex_{s}"] - 10 * env
    _jitter(c, pose, ["neck_flex"], 0.5)
    faults: list[dict] = []
    if v in ("trunk_rotation", "back_sag"):
        faults = _fault(tl, v, _half(tl, env))
    elif v == "ballistic":
        faults = _fault(tl, "ballistic", tl.mask())
    return Script("bird_dog", v, c.fps, pose, pitch, roll, tl, None, anchor="hands_knees", placement="floor",
                  environment={"mat": True}, faults=faults, hold_target_s=3.0,
                  notes="hands and knees; opposite arm and leg extended level, hold 3 s, sides alternate")


def plank(c: Ctx) -> Script:
    v = c.variant
    hold = 20.0
    tl = timeline(c.rng, c.fps, reps=1, up=1.5, down=1.5, holds=[hold], lead_in=1.0, lead_out=1.0)
    T = len(tl.p)
    t = tl.t
    h0, h1 = tl.reps[0].hold_start_s, tl.reps[0].hold_end_s
    # on the knees -> up onto the toes (p), hold; faults develop over 2 s in the second half of the hold
    fstart = h0 + 0.45 * (h1 - h0)
    env = np.clip((t - fstart) / 2.0, 0, 1) * (t < h1 - 1.0) + np.clip((h1 - 1.0 - t) / 0.8, 0, 1) * (t >= h1 - 1.0) \
        * (t < h1)
    env = np.where(t >= h1, 0.0, env)
    gamma = 8.0  # trunk/leg line rises 8 deg from toes to shoulders
    line = 90 - gamma
    p = tl.p
    dev = {"hips_sagging": -16.0, "hips_piked": 22.0}.get(v, 0.0) * env
    pose: dict[str, np.ndarray] = {}
    pelvis = _full(T, line) + (dev if v == "hips_piked" else 0.0)
    lumbar = (dev * 1.0) if v == "hips_sagging" else np.zeros(T)
    thorax = pelvis + lumbar
    if v == "hips_sagging":
        # the hips drop: legs and pelvis swing down about the toes, the lumbar spine extends
        pelvis = pelvis - dev * 0.5
        lumbar = dev * 1.5
        thorax = pelvis + lumbar
    for s in "lr":
        # knees down at p = 0 (kneeling plank), straight at p = 1
        pose[f"knee_flex_{s}"] = 90 * (1 - p)
        pose[f"hip_flex_{s}"] = (pelvis - line) + 0 * p
        pose[f"ankle_dorsi_{s}"] = -30 * (1 - p)
        pose[f"shoulder_flex_{s}"] = thorax
        pose[f"elbow_flex_{s}"] = _full(T, 90)
    pose["lumbar_flex"] = lumbar
    pose["neck_flex"] = _full(T, -15)
    _jitter(c, pose, ["lumbar_flex"], 0.4)
    faults = _fault(tl, v, env >= 0.5) if v in ("hips_sagging", "hips_piked") else []
    return Script("plank", v, c.fps, pose, pelvis, np.zeros(T), tl, None, anchor="toes", placement="floor",
                  environment={"mat": True}, faults=faults, hold_target_s=hold,
                  notes="forearm plank held 20 s; body in line from shoulders to ankles")


def dead_bug(c: Ctx) -> Script:
    v = c.variant
    first = c.s
    sides = [first, "r" if first == "l" else "l", first]
    tl = timeline(c.rng, c.fps, reps=3, up=1.5, down=1.5, hold=1.0, rest=0.8,
                  sides=["left" if s == "l" else "right" for s in sides],
                  ballistic=[0, 1, 2] if v == "ballistic" else None)
    T = len(tl.p)
    pose = {}
    for s in "lr":
        pose[f"hip_flex_{s}"] = _full(T, 90)
        pose[f"knee_flex_{s}"] = _full(T, 90)
        pose[f"ankle_dorsi_{s}"] = _full(T, -10)
        pose[f"shoulder_flex_{s}"] = _full(T, 90)
        pose[f"elbow_flex_{s}"] = _full(T, 5)
    for i, leg in enumerate(sides):
        p = np.where(tl.rep_index == i, tl.p, 0.0)
        arm = "r" if leg == "l" else "l"
        pose[f"hip_flex_{leg}"] = pose[f"hip_flex_{leg}"] - 65 * p
        pose[f"knee_flex_{leg}"] = pose[f"knee_flex_{leg}"] - 85 * p
        pose[f"shoulder_flex_{arm}"] = pose[f"shoulder_flex_{arm}"] + 80 * p
    _jitter(c, pose, ["neck_flex"], 0.5)
    faults = _fault(tl, "ballistic", tl.mask()) if v == "ballistic" else []
    return Script("dead_bug", v, c.fps, pose, _full(T, -90), np.zeros(T), tl, None, anchor="pelvis",
                  placement="floor", environment={"mat": True}, faults=faults,
                  notes="supine, arms up and hips/knees at 90/90; opposite arm and leg lowered, sides alternate")


def prone_press_up(c: Ctx) -> Script:
    v = c.variant
    tl = timeline(c.rng, c.fps, reps=3, up=1.6, down=1.6, hold=1.5, rest=1.2,
                  amplitudes=[1.0, 0.4, 1.0] if v == "shallow" else None,
                  ballistic=[0, 1, 2] if v == "ballistic" else None)
    T = len(tl.p)
    La, Lf = c.lens["upper_arm"], c.lens["forearm"] + 0.06
    ext = 45 * tl.p  # spine extension: lumbar 2/3, thoracic 1/3; the pelvis stays on the floor
    pose: dict[str, np.ndarray] = {"lumbar_flex": -ext * 0.67, "thoracic_flex": -ext * 0.33,
                                   "neck_flex": -10 * tl.p}
    pelvis = 90.0
    thorax = pelvis - ext
    # shoulder joint in the world sagittal plane (z towards the head, y up), from the rig's own spine
    S = shoulder_world(c, _full(T, pelvis), pose["lumbar_flex"], pose["thoracic_flex"])
    W = np.array([S[0, 0] - 0.03, 0.035])  # hands flat on the floor beside the shoulders, fixed
    E = two_link(S, np.broadcast_to(W, S.shape), La, Lf, np.array([-1.0, 0.6]))
    ua = pitch_of(E - S)  # world (z towards the head, y up) pitches
    fa = pitch_of(W - E)
    for s in "lr":
        pose[f"shoulder_flex_{s}"] = thorax - ua
        pose[f"elbow_flex_{s}"] = np.clip(ua - fa, 0, 170)
        pose[f"shoulder_abd_{s}"] = _full(T, 25)
        pose[f"ankle_dorsi_{s}"] = _full(T, -35)
    faults = _fault(tl, "ballistic", tl.mask()) if v == "ballistic" else []
    return Script("prone_press_up", v, c.fps, pose, _full(T, pelvis), np.zeros(T), tl, None, anchor="pelvis", ground="legs",
                  placement="floor", environment={"mat": True}, faults=faults, hold_target_s=1.5,
                  notes="prone, hands under the shoulders; press the chest up with the pelvis on the floor")


SCRIPTS: dict[str, Callable[[Ctx], Script]] = {
    "ankle_pumps": ankle_pumps, "heel_slides": heel_slides, "abdominal_contraction": abdominal_contraction,
    "wall_squat": wall_squat, "heel_raises": heel_raises, "straight_leg_raise": straight_leg_raise,
    "single_knee_to_chest": single_knee_to_chest, "hamstring_stretch": hamstring_stretch,
    "hip_flexor_stretch": hip_flexor_stretch, "piriformis_stretch": piriformis_stretch,
    "glute_bridge": glute_bridge, "bird_dog": bird_dog, "plank": plank, "dead_bug": dead_bug,
    "pelvic_tilt": pelvic_tilt, "prone_press_up": prone_press_up, "squat": squat,
}

VARIANTS: dict[str, tuple[str, ...]] = {
    "ankle_pumps": ("correct", "shallow", "ballistic"),
    "heel_slides": ("correct", "shallow", "ballistic"),
    "abdominal_contraction": ("correct", "short_hold"),
    "wall_squat": ("correct", "too_deep", "trunk_flexion", "knee_valgus", "knees_past_toes", "short_hold",
                   "shallow", "ballistic"),
    "heel_raises": ("correct", "short_hold", "ballistic"),
    "straight_leg_raise": ("correct", "knee_bent", "lift_too_high", "back_arch", "shallow", "ballistic"),
    "single_knee_to_chest": ("correct", "released_early"),
    "hamstring_stretch": ("correct", "released_early"),
    "hip_flexor_stretch": ("correct", "released_early"),
    "piriformis_stretch": ("correct", "released_early"),
    "glute_bridge": ("correct", "hips_too_high", "hips_sagging", "shallow", "ballistic"),
    "bird_dog": ("correct", "trunk_rotation", "back_sag", "ballistic"),
    "plank": ("correct", "hips_sagging", "hips_piked"),
    "dead_bug": ("correct", "ballistic"),
    "pelvic_tilt": ("correct", "short_hold"),
    "prone_press_up": ("correct", "shallow", "ballistic"),
    "squat": ("correct", "trunk_flexion", "shallow", "ballistic"),
}

SIDED = {"heel_slides", "straight_leg_raise", "single_knee_to_chest", "hamstring_stretch", "hip_flexor_stretch",
         "piriformis_stretch"}


def check(exercise: str, variant: str) -> None:
    if exercise not in SCRIPTS:
        raise OptionsError("exercise", f"one of {', '.join(EXERCISES)}", exercise)
    if variant not in VARIANTS[exercise]:
        raise OptionsError("variant", f"one of {', '.join(VARIANTS[exercise])} for {exercise}", variant)
