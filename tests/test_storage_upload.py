"""A real recorded clip uploaded for a patient: analysed on this computer, stored, reviewable."""

from __future__ import annotations

from pathlib import Path

import pytest

from formcheck.storage import get_session
from storage_world import build_world, copy_world


@pytest.mark.shared
def test_uploaded_real_clip_is_analysed_and_stored(shared_videos, tmp_path, monkeypatch):
    from formcheck.analysis import analyze_video
    from formcheck.storage.uploads import analyse_upload

    clip = shared_videos / "squat_side_bodyweight.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip.name} is absent")
    monkeypatch.setenv("FORMCHECK_MEDIA_DIR", str(tmp_path / "media"))
    template = tmp_path / "t.db"
    w = copy_world((template, build_world(template)), tmp_path / "fc.db")
    seen = {}

    def analyze(*args, **kwargs):
        seen["result"] = analyze_video(*args, **kwargs)
        return seen["result"]

    fractions = []
    with open(clip, "rb") as fh:
        sid = analyse_upload(w["engine"], w["pat1"], w["p1"], "squat", fh, clip.name, keep_video=False,
                             progress=lambda f, m: fractions.append(f), analyze=analyze)
    doc = seen["result"].to_dict()
    d = get_session(w["engine"], w["t1"], sid)
    assert d.session["source"] == "upload" and d.session["exercise_id"] == "squat"
    assert d.session["rep_count"] == doc["rep_count"] and len(d.reps) == len(doc["reps"])
    assert [r["start_s"] for r in d.reps] == [r["start_s"] for r in doc["reps"]]
    assert d.samples_t and max(d.samples_t) > 3.0  # the angle-over-time plot has the clip's length
    kinds = {a["kind"]: a["path"] for a in d.artifacts}
    assert set(kinds) == {"annotated_video"} and Path(kinds["annotated_video"]).stat().st_size > 10_000
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert not any((tmp_path / "media").rglob("*.mp4")) or all("annotated" in p.name
                                                               for p in (tmp_path / "media").rglob("*.mp4"))
