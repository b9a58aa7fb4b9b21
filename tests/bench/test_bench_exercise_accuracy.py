"""Exercise-engine accuracy: rep counts, hold times and faults on the rendered fixtures (exact ground
truth, tests/fixtures/videos/*.mp4 + .json) and on the real clips of ../shared/videos/labels.csv.

Landmarks come from the pose engine once per clip and are cached under .cache/landmarks/.
Prints per-exercise tables for BENCHMARKS.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from clip_landmarks import SHARED_VIDEOS, fixture_clips, fixture_landmarks, labelled_clips, landmarks_for
from fixture_scoring import _overlap, physical_hold, run_fixture, score_clip, summarise, table

from formcheck.exercises import Overrides, load_spec, run_exercise

pytestmark = pytest.mark.bench

REPO = Path(__file__).resolve().parents[2]
# labels.csv exercise -> spec id (clips of exercises without a spec are not scored)
LABEL_TO_SPEC = {"squat": "squat", "glute_bridge": "glute_bridge", "bird_dog": "bird_dog",
                 "heel_raise": "heel_raises", "plank": "plank"}


def _hold(res) -> float:
    return max((h.duration_s for h in res.holds), default=0.0)


def test_bench_real_clips() -> None:
    """Counts within one of the label, holds within 1 s. The bridge, bird-dog and heel-raise clips
    perform their reps without the prescribed hold: they are scored with the per-patient override
    that matches what was performed (``Overrides(hold_s=0)``: no hold), and the default prescription's
    result is shown next to it (those reps are correctly incomplete there)."""
    if not (SHARED_VIDEOS / "labels.csv").is_file():
        pytest.skip("../shared/videos is absent")
    rows = []
    for row in labelled_clips():
        spec_id = LABEL_TO_SPEC.get(row["exercise"])
        if spec_id is None:
            continue
        spec = load_spec(spec_id)
        seq = landmarks_for(SHARED_VIDEOS / row["file"])
        label_reps = int(row["reps"]) if row["reps"] else None
        label_hold = float(row["hold_s"]) if row["hold_s"] else None
        default = run_exercise(spec, seq)
        # reps labelled without a hold on an exercise whose prescription has one: no-hold override
        no_hold = label_reps is not None and label_hold is None and spec.prescription.hold_s is not None
        scored = run_exercise(spec, seq, overrides=Overrides(hold_s=0)) if no_hold else default
        rows.append((row["file"], spec_id, label_reps, default.rep_count,
                     "hold_s=0" if no_hold else "-", scored.rep_count, label_hold, _hold(scored),
                     sorted({f.id for f in scored.faults})))
    print("\n[bench accuracy] real clips (label vs formcheck). 'default' = rep count with the spec's "
          "prescription; 'override' = the per-patient override matching what the clip performed "
          "(the bridge/bird-dog/heel-raise clips do reps without the prescribed hold); 'count' = scored")
    print(f"{'clip':32} {'spec':12} {'label':>5} {'default':>7} {'override':>9} {'count':>5} "
          f"{'label_hold':>10} {'hold_s':>6} {'ok':>3}  faults")
    ok_counts = ok_holds = n_counts = n_holds = 0
    for f, sid, lr, d, ov, rc, lh, h, faults in rows:
        ok = True
        if lr is not None:
            n_counts += 1
            ok_counts += abs(rc - lr) <= 1
            ok &= abs(rc - lr) <= 1
        if lh is not None:
            n_holds += 1
            ok_holds += abs(h - lh) <= 1.0
            ok &= abs(h - lh) <= 1.0
        print(f"{f:32} {sid:12} {lr if lr is not None else '-':>5} {d:>7} {ov:>9} {rc:>5} "
              f"{lh if lh is not None else '-':>10} {h:6.2f} {'yes' if ok else 'NO':>3}  {','.join(faults) or '-'}")
    print(f"[bench accuracy] real clips: counts within one of the label {ok_counts}/{n_counts}; "
          f"holds within 1 s {ok_holds}/{n_holds}")
    assert rows


def test_bench_rendered_fixtures() -> None:
    clips = fixture_clips()
    if not clips:
        pytest.skip("no rendered fixtures in tests/fixtures/videos yet")
    scores = []
    for mp4 in clips:
        truth, res = run_fixture(mp4, fixture_landmarks(mp4))
        scores.append(score_clip(mp4.stem, truth, res))
    print("\n[bench accuracy] rendered fixtures (pose engine landmarks -> exercise engine vs ground truth; "
          "bird-dog/bridge/press-up scored with the clip's scripted hold as an override)")
    for line in table(scores):
        print("[bench accuracy] " + line)
    summ = summarise(scores)
    d = summ["ALL"]
    if "PACED" in summ:
        p = summ["PACED"]
        print(f"[bench accuracy] app-paced holds (abdominal contraction; counted by the app's pacing, the camera "
              f"checks only the position; NOT in the camera figures below): {p['clips']:.0f} clips, count equal "
              f"to the script {p['exact']:.0f}/{p['clips']:.0f}")
    print(f"[bench accuracy] camera-measured clips: rep count exact {d['exact']:.0f}/{d['clips']:.0f} "
          f"({100 * d['exact'] / d['clips']:.0f}%, target >= 95%), off by <= 1 {d['within_one']:.0f}/{d['clips']:.0f}; "
          f"holds within 0.3 s {d['holds_ok']:.0f}/{d['holds']:.0f}; scripted faults flagged "
          f"{d['faults_caught']:.0f}/{d['faults_expected']:.0f}; harmful flags on correct clips "
          f"{d['false_harmful']:.0f}/{d['correct_clips']:.0f}")
    ok_view = [s for s in scores if s.view_supported and not s.paced]
    if ok_view:
        print(f"[bench accuracy] of these, the {len(ok_view)} clips filmed from a view their spec measures from "
              f"(the others get a wrong-view warning): rep count exact "
              f"{sum(s.count_error == 0 for s in ok_view)}/{len(ok_view)}, off by <= 1 "
              f"{sum(abs(s.count_error) <= 1 for s in ok_view)}/{len(ok_view)}")
    for s in scores:
        if s.problems():
            print(f"[bench accuracy]   {s.stem}: " + "; ".join(s.problems()))
    assert scores


def test_bench_hold_definition() -> None:
    """How much of the hold error is the fixtures' own definition of a hold: each scripted hold's
    labelled duration (the flat part of the script) against its duration by the body's stillness
    (commanded angles within 1 % of the rep's range of the held pose), and the detected hold against
    both. App-paced exercises are left out."""
    clips = fixture_clips()
    if not clips:
        pytest.skip("no rendered fixtures")
    print("\n[bench holds] clip: detected - labelled / detected - still-body (still-body minus labelled)")
    n = ok_label = ok_still = 0
    longer = []
    for mp4 in clips:
        truth, res = run_fixture(mp4, fixture_landmarks(mp4))
        spec = load_spec(truth["exercise"])
        if spec.hold is not None and spec.hold.pacing is not None:
            continue
        cells = []
        for h in truth.get("holds", []):
            best = max(res.holds, key=lambda d: _overlap(d.start_s, d.end_s, h["start_s"], h["end_s"]), default=None)
            still = physical_hold(truth, spec, h)
            if best is None or _overlap(best.start_s, best.end_s, h["start_s"], h["end_s"]) <= 0 or still is None:
                continue
            n += 1
            e_label, e_still = best.duration_s - h["duration_s"], best.duration_s - still
            ok_label += abs(e_label) <= 0.3 + 1e-6
            ok_still += abs(e_still) <= 0.3 + 1e-6
            longer.append(still - h["duration_s"])
            cells.append(f"{e_label:+.2f}/{e_still:+.2f} ({still - h['duration_s']:+.2f})")
        if cells:
            print(f"[bench holds] {mp4.stem:46} " + "  ".join(cells))
    if n:
        print(f"[bench holds] {n} holds with commanded angles: the still body holds {min(longer):+.2f} to "
              f"{max(longer):+.2f} s longer than the label (median {sorted(longer)[len(longer) // 2]:+.2f}); "
              f"detected within 0.3 s of the label {ok_label}/{n}, of the still-body hold {ok_still}/{n}")
    assert n
