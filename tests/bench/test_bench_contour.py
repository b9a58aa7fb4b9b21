"""The back-contour lumbar curve (``lumbar_curve``, formcheck.contour) against the commanded lumbar
flexion of the rendered fixtures (sidecar ``commanded.lumbar_flex``: + flexion = the low back flattens or
rounds, - extension = it hollows).

Per clip: frames where it was measurable, Pearson r with the commanded lumbar flexion (a working measure
reads *negative* r: flexion lowers the curve), the step (median curve where the commanded flexion is near
its far extreme minus where it is near its resting value), the frame-to-frame noise (std of the
frame-to-frame difference / sqrt 2, on frames where the commanded flexion is constant), their ratio (SNR) and the
drift (range of the medians of the separate rest periods: what a fixed threshold would have to absorb),
next to the same figures for the landmark proxy ``trunk_inclination``. Landmarks and the channel come from
the pose engine once per clip, cached under .cache/landmarks/ (tests/bench/clip_landmarks.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from clip_landmarks import FIXTURES, fixture_landmarks

from formcheck.measures import compute_measures

pytestmark = pytest.mark.bench

# clips whose script moves the lumbar spine, and correct counterparts (constant lumbar posture)
MOVING = ["pelvic_tilt__correct__side", "pelvic_tilt__short_hold__oblique",
          "abdominal_contraction__correct__side", "abdominal_contraction__short_hold__oblique",
          "squat__trunk_flexion__side", "wall_squat__trunk_flexion__oblique",
          "straight_leg_raise__back_arch__side", "glute_bridge__hips_too_high__side",
          "bird_dog__back_sag__side", "plank__hips_sagging__side", "prone_press_up__correct__side"]
STILL = ["squat__correct__side", "wall_squat__correct__side", "straight_leg_raise__correct__side",
         "glute_bridge__correct__side", "bird_dog__correct__side", "plank__correct__side"]
# side-view clips where the back contour must see the scripted lumbar change (sign and SNR). Not the
# bridge: lifting the hips changes the buttock outline as much as the scripted hyperextension (see
# the exercises README, "Lumbar curve from the back contour").
MUST_SEE = ["pelvic_tilt__correct__side", "abdominal_contraction__correct__side", "squat__trunk_flexion__side",
            "straight_leg_raise__back_arch__side", "bird_dog__back_sag__side"]
MIN_ABS_R, MIN_SNR = 0.6, 5.0


def _figures(values: np.ndarray, lumbar: np.ndarray) -> dict[str, float]:
    v = np.asarray(values, np.float64)
    ok = np.isfinite(v)
    out = {"valid": float(ok.mean()), "r": np.nan, "step": np.nan, "noise": np.nan, "snr": np.nan, "drift": np.nan}
    span = float(lumbar.max() - lumbar.min())
    if ok.sum() > 3 and span > 1.0:
        out["r"] = float(np.corrcoef(v[ok], lumbar[ok])[0, 1])
        rest = lumbar[0]
        far = lumbar.max() if abs(lumbar.max() - rest) >= abs(lumbar.min() - rest) else lumbar.min()
        at_far = np.abs(lumbar - far) <= 0.2 * span
        at_rest = np.abs(lumbar - rest) <= 0.2 * span
        if (at_far & ok).any() and (at_rest & ok).any():
            out["step"] = float(np.median(v[at_far & ok]) - np.median(v[at_rest & ok]))
        # drift: range of the medians of the separate rest periods (what a fixed threshold must absorb)
        seg = np.cumsum(np.r_[0, np.diff(at_rest.astype(int)) != 0])
        meds = [np.median(v[(seg == k) & at_rest & ok]) for k in np.unique(seg[at_rest & ok])]
        if len(meds) >= 2:
            out["drift"] = float(np.ptp(meds))
    flat = (np.abs(np.diff(lumbar)) < 0.05) & np.isfinite(np.diff(v))
    if flat.sum() > 3:
        out["noise"] = float(np.std(np.diff(v)[flat]) / np.sqrt(2))
        if np.isfinite(out["step"]):
            out["snr"] = abs(out["step"]) / max(out["noise"], 1e-6)
    return out


def _clip(stem: str) -> tuple[dict[str, float], dict[str, float], float, float] | None:
    mp4 = FIXTURES / f"{stem}.mp4"
    if not mp4.is_file():
        return None
    seq = fixture_landmarks(mp4)
    side = json.loads(Path(mp4.with_suffix(".json")).read_text())
    lumbar = np.asarray(side["commanded"].get("lumbar_flex", np.zeros(len(seq))), np.float64)
    m = compute_measures(seq, ["lumbar_curve", "trunk_inclination"], space="image")
    curve = m["lumbar_curve"]
    rest = float(np.nanmedian(curve[np.abs(lumbar - lumbar[0]) < 0.5])) if np.isfinite(curve).any() else np.nan
    return _figures(curve, lumbar), _figures(m["trunk_inclination"], lumbar), rest, float(np.ptp(lumbar))


def test_bench_lumbar_curve_against_commanded_lumbar_flexion() -> None:
    rows = {}
    for stem in MOVING + STILL:
        got = _clip(stem)
        if got is not None:
            rows[stem] = got
    if not rows:
        pytest.skip("no rendered fixtures")
    print("\n[bench contour] lumbar_curve (% torso length) vs commanded lumbar flexion; "
          "landmark proxy trunk_inclination (deg) for comparison")
    print(f"{'clip':46} {'lumbar':>6} {'valid':>5} {'rest':>5} {'r':>6} {'step':>6} {'noise':>5} {'SNR':>5} "
          f"{'drift':>5} | {'trunk r':>7} {'step':>6} {'noise':>5} {'SNR':>5} {'drift':>5}")
    for stem, (c, p, rest, span) in rows.items():
        print(f"{stem:46} {span:5.0f}° {c['valid']:5.2f} {rest:5.2f} {c['r']:6.2f} {c['step']:6.2f} "
              f"{c['noise']:5.2f} {c['snr']:5.1f} {c['drift']:5.2f} | {p['r']:7.2f} {p['step']:6.2f} {p['noise']:5.2f} "
              f"{p['snr']:5.1f} {p['drift']:5.2f}")
    bad = []
    for stem in MUST_SEE:
        if stem not in rows:
            continue
        c = rows[stem][0]
        if not (c["valid"] > 0.9 and c["r"] <= -MIN_ABS_R and c["snr"] >= MIN_SNR):
            bad.append(f"{stem}: valid {c['valid']:.2f}, r {c['r']:.2f}, SNR {c['snr']:.1f}")
    assert not bad, "the back contour misses the scripted lumbar change: " + "; ".join(bad)
