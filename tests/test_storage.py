"""Storage against a real SQLite database: round trips, access control, bad input, export."""

from __future__ import annotations

import csv
import io
import math
from datetime import timedelta

import pytest
from sqlalchemy import select

from formcheck.errors import FieldError, InputError
from formcheck.storage import (
    AccessDenied,
    create_patient,
    get_program,
    get_session,
    list_patients,
    list_sessions,
    set_program,
    store_analysis,
)
from formcheck.storage.db import read_session
from formcheck.storage.export import (
    parse_program_csv,
    patient_reps_csv,
    patient_sessions_csv,
    session_report_html,
)
from formcheck.storage.models import Event, ExerciseSession, Program, Rep, Sample, utcnow
from formcheck.storage.repo import add_pain_rating, count_rows, patient_overview, prescription_overrides


def make_result(exercise: str = "wall_squat", n_reps: int = 3, **extra):
    reps = [
        {"index": i + 1, "side": None, "start_s": 4.0 * i, "end_s": 4.0 * i + 3.5, "peak": 40.0 + i,
         "range_of_motion": 38.0 + i, "hold_s": 4.5 + 0.2 * i, "complete": i != 1,
         "form_score": 100.0 if i != 2 else 55.0, "faults": ["trunk_flexion"] if i == 2 else []}
        for i in range(n_reps)
    ]
    d = {
        "schema_version": "1.0", "exercise": exercise, "side": None,
        "video": {"path": "clip.mp4", "fps": 30.0, "duration_s": 4.0 * n_reps, "frames": int(120 * n_reps)},
        "rep_count": sum(1 for r in reps if r["complete"]), "reps": reps,
        "holds": [{"start_s": 1.0, "end_s": 5.5, "duration_s": 4.5, "completed": False}],
        "faults": [{"id": "trunk_flexion", "severity": "harmful", "start_s": 9.0, "end_s": 10.2,
                    "message": "Keep your back against the wall"}],
        "form_score": 85.0, "frames_with_person": 350, "partial": False,
    }
    d.update(extra)
    return d




def test_result_round_trip_keeps_reps_holds_faults_and_samples(world, tmp_path):
    engine = world["engine"]
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\0" * 100)
    t = [i / 30 for i in range(360)]
    knee = [30 + 15 * math.sin(x) for x in t]
    knee[10] = float("nan")
    sid = store_analysis(engine, world["p1"], make_result(), video_path=video,
                         series={"knee_flexion_left": knee}, series_t=t)
    d = get_session(engine, world["t1"], sid)
    assert d.session["exercise_id"] == "wall_squat"
    assert d.session["rep_count"] == 2 and d.session["reps_total"] == 3
    assert d.session["form_score"] == 85.0 and d.session["status"] == "completed"
    assert [r["complete"] for r in d.reps] == [True, False, True]
    assert d.reps[2]["faults"] == "trunk_flexion" and d.reps[1]["peak"] == 41.0
    assert d.faults == [{"id": "trunk_flexion", "severity": "harmful", "start_s": 9.0, "end_s": 10.2,
                         "message": "Keep your back against the wall"}]
    assert d.holds[0]["duration_s"] == 4.5 and d.holds[0]["completed"] is False
    # samples thinned to <= 15 Hz, NaN stored as missing, values preserved
    assert 150 <= len(d.samples_t) <= 181
    assert all(b - a >= 1 / 15 - 1e-6 for a, b in zip(d.samples_t, d.samples_t[1:]))
    i = d.samples_t.index(t[30])
    assert d.samples["knee_flexion_left"][i] == pytest.approx(knee[30])
    assert d.samples["knee_flexion_left"][d.samples_t.index(t[10])] is None  # NaN -> missing, not 0
    assert sum(v is None for v in d.samples["knee_flexion_left"]) == 1
    assert d.artifacts == [{"kind": "video", "path": str(video.resolve()), "size_bytes": 100}]
    row = list_sessions(engine, world["t1"], world["p1"])[0]
    assert row["harmful_faults"] == 1 and row["mean_rom"] == pytest.approx((38 + 40) / 2)


def test_report_dir_artifacts_are_referenced_not_copied(world, tmp_path):
    rd = tmp_path / "out"
    rd.mkdir()
    (rd / "result.json").write_text("{}")
    (rd / "annotated.mp4").write_bytes(b"x" * 10)
    (rd / "report.html").write_text("<html></html>")
    sid = store_analysis(world["engine"], world["p1"], make_result(), report_dir=rd)
    kinds = {a["kind"]: a["path"] for a in get_session(world["engine"], world["t1"], sid).artifacts}
    assert kinds == {"result_json": str((rd / "result.json").resolve()),
                     "annotated_video": str((rd / "annotated.mp4").resolve()),
                     "report": str((rd / "report.html").resolve())}


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"exercise": "moonwalk"}, "exercise"),
        ({"reps": [{"start_s": "soon", "end_s": 1.0}]}, "reps.0.start_s"),
        ({"form_score": 140}, "form_score"),
        ({"faults": [{"id": "x", "severity": "deadly", "start_s": 1.0}]}, "faults.0.severity"),
    ],
)
def test_malformed_result_is_refused_and_nothing_is_stored(world, bad, field):
    engine = world["engine"]
    store_analysis(engine, world["p1"], make_result())
    before = (count_rows(engine, ExerciseSession), count_rows(engine, Rep), count_rows(engine, Event))
    with pytest.raises(FieldError) as exc:
        store_analysis(engine, world["p1"], make_result(**bad))
    assert exc.value.field == field and field in str(exc.value)
    assert (count_rows(engine, ExerciseSession), count_rows(engine, Rep), count_rows(engine, Event)) == before


def test_store_for_unknown_patient_or_missing_file_stores_nothing(world, tmp_path):
    engine = world["engine"]
    with pytest.raises(FieldError, match="patient_id"):
        store_analysis(engine, 999, make_result())
    with pytest.raises(InputError, match="does not exist"):
        store_analysis(engine, world["p1"], make_result(), video_path=tmp_path / "nope.mp4")
    assert count_rows(engine, ExerciseSession) == 0


def test_store_analysis_on_uninitialised_database_says_how_to_fix(tmp_path):
    with pytest.raises(InputError, match="formcheck db init"):
        store_analysis(tmp_path / "empty.db", 1, make_result())


# ------------------------------------------------------------------------------------------------ access


def test_therapist_sees_only_own_patients(world):
    e, t1, t2 = world["engine"], world["t1"], world["t2"]
    assert {p.display_name for p in list_patients(e, t1)} == {"Pat One", "Pat Two"}
    assert [p.display_name for p in list_patients(e, t2)] == ["Pat Three"]
    sid = store_analysis(e, world["p1"], make_result())
    with pytest.raises(AccessDenied):
        list_sessions(e, t2, world["p1"])
    with pytest.raises(AccessDenied):
        get_session(e, t2, sid)
    with pytest.raises(AccessDenied):
        set_program(e, t2, world["p1"], [{"exercise_id": "plank"}])


def test_patient_sees_only_own_record_and_cannot_edit_program(world):
    e, pat = world["engine"], world["pat1"]
    own = store_analysis(e, world["p1"], make_result())
    other = store_analysis(e, world["p2"], make_result())
    assert [p.id for p in list_patients(e, pat)] == [world["p1"]]
    assert get_session(e, pat, own).session["id"] == own
    for pid in (world["p2"], world["p3"], "1 OR 1=1", None):
        with pytest.raises(AccessDenied):
            list_sessions(e, pat, pid)
    with pytest.raises(AccessDenied) as exc:
        get_session(e, pat, other)
    # same message for "exists but not yours" and "does not exist": ids cannot be probed
    with pytest.raises(AccessDenied) as exc2:
        get_session(e, pat, 10_000)
    assert str(exc.value).replace(str(other), "N") == str(exc2.value).replace("10000", "N")
    with pytest.raises(AccessDenied):
        set_program(e, pat, world["p1"], [{"exercise_id": "plank"}])
    with pytest.raises(AccessDenied):
        patient_sessions_csv(e, pat, world["p2"])
    with pytest.raises(AccessDenied):
        session_report_html(e, pat, other)


# ------------------------------------------------------------------------------------------------ programs


def test_program_overrides_round_trip_and_history(world):
    e, t1, p1 = world["engine"], world["t1"], world["p1"]
    set_program(e, t1, p1, [{"exercise_id": "wall_squat", "reps": 10, "hold_s": 5}])
    set_program(e, t1, p1, [
        {"exercise_id": "wall_squat", "sets": 2, "reps": 8, "hold_s": 5, "overrides": {"target": 30}},
        {"exercise_id": "hamstring_stretch", "reps": 5, "hold_s": 20, "side": "left", "times_per_week": 3},
    ])
    items = get_program(e, world["pat1"], p1)  # the patient can read their own program
    assert [i["exercise_id"] for i in items] == ["wall_squat", "hamstring_stretch"]
    assert items[0]["overrides"] == {"target": 30.0}
    assert prescription_overrides(items[0]) == {"target": 30.0, "reps": 8, "hold_s": 5.0, "sets": 2}
    from formcheck.exercises import apply_overrides, load_spec  # the exercise engine accepts them

    assert apply_overrides(load_spec("wall_squat"), prescription_overrides(items[0])).rep.target.value == 30.0
    with read_session(e) as s:  # the previous program is kept, inactive
        progs = s.scalars(select(Program).where(Program.patient_id == p1)).all()
        assert sorted(p.active for p in progs) == [False, True]


def test_invalid_program_changes_nothing(world):
    e, t1, p1 = world["engine"], world["t1"], world["p1"]
    set_program(e, t1, p1, [{"exercise_id": "plank", "reps": 3, "hold_s": 20}])
    with pytest.raises(FieldError) as exc:
        set_program(e, t1, p1, [{"exercise_id": "wall_squat"}, {"exercise_id": "wall_squat", "sets": 0}])
    assert "program item 2" in str(exc.value) and exc.value.field == "sets"
    with pytest.raises(FieldError, match="program item 1 .ankle_pumps.*hold"):  # the spec has no hold
        set_program(e, t1, p1, [{"exercise_id": "ankle_pumps", "hold_s": 5}])
    with pytest.raises(FieldError, match="overrides"):
        set_program(e, t1, p1, [{"exercise_id": "wall_squat", "overrides": {"depth": 30}}])
    assert [i["exercise_id"] for i in get_program(e, t1, p1)] == ["plank"]


def test_program_csv_import_reports_line_and_stores_nothing_on_error(world):
    good = "exercise_id,sets,reps,hold_s,side,times_per_week,target\nwall_squat,1,10,5,,5,30\n"
    items = parse_program_csv(good.encode())
    assert items == [{"exercise_id": "wall_squat", "overrides": {"target": 30.0}, "sets": "1",
                      "reps": "10", "times_per_week": "5", "hold_s": "5"}]
    with pytest.raises(FieldError, match="line 3") as exc:
        parse_program_csv(good + "plank,1,ten,20,,5,\n")
    assert exc.value.field == "reps"
    with pytest.raises(FieldError, match="header"):
        parse_program_csv("name,reps\nx,1\n")
    with pytest.raises(InputError, match="UTF-8"):
        parse_program_csv(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match="limit"):
        parse_program_csv(b"exercise_id\n" + b"plank\n" * 20000)


# ------------------------------------------------------------------------------------------------ overview


def test_overview_flags_harmful_faults_and_pain_increase(world):
    e, t1, p1, p2 = world["engine"], world["t1"], world["p1"], world["p2"]
    now = utcnow()
    set_program(e, t1, p1, [{"exercise_id": "wall_squat", "times_per_week": 7}])
    sid = store_analysis(e, p1, make_result())
    add_pain_rating(e, world["pat1"], p1, 3, phase="before", session_id=sid)
    add_pain_rating(e, world["pat1"], p1, 6, phase="after", session_id=sid)
    store_analysis(e, p2, make_result(faults=[], reps=[], rep_count=0))
    rows = {r.patient_id: r for r in patient_overview(e, t1, now=now + timedelta(seconds=1))}
    assert rows[p1].sessions_week == 1 and rows[p1].last_exercise == "wall_squat"
    assert any("harmful" in f for f in rows[p1].flags)
    assert any("pain increased" in f for f in rows[p1].flags)
    assert not any("harmful" in f or "pain" in f for f in rows[p2].flags)
    assert rows[p2].adherence_week is None  # no program, no adherence
    assert 0 < rows[p1].adherence_week <= 1
    with pytest.raises(FieldError):
        add_pain_rating(e, world["pat1"], p1, 11)
    with pytest.raises(AccessDenied):
        add_pain_rating(e, world["pat1"], p2, 3)


# ------------------------------------------------------------------------------------------------ export


def test_csv_export_has_a_row_per_session_and_rep(world):
    e = world["engine"]
    store_analysis(e, world["p1"], make_result(n_reps=2), started_at=utcnow() - timedelta(days=1))
    store_analysis(e, world["p1"], make_result("plank", n_reps=3))
    rows = list(csv.DictReader(io.StringIO(patient_sessions_csv(e, world["t1"], world["p1"]))))
    assert [r["exercise_id"] for r in rows] == ["wall_squat", "plank"]
    assert rows[1]["rep_count"] == "2" and rows[1]["harmful_faults"] == "1"
    reps = list(csv.DictReader(io.StringIO(patient_reps_csv(e, world["t1"], world["p1"]))))
    assert len(reps) == 5 and reps[-1]["faults"] == "trunk_flexion"


def test_html_report_lists_reps_and_faults_and_escapes_names(world):
    e, t1 = world["engine"], world["t1"]
    pid = create_patient(e, t1, "<script>alert(1)</script>")
    t = [i / 10 for i in range(100)]
    sid = store_analysis(e, pid, make_result(), series={"knee_flexion_left": [x * 3 for x in t]}, series_t=t)
    page = session_report_html(e, t1, sid)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert page.count("<tr>") >= 1 + 3 + 1 + 1  # headers + 3 reps + fault + hold
    assert "Keep your back against the wall" in page and "<polyline" in page


def test_samples_table_is_indexed_per_session(world):
    e = world["engine"]
    sid = store_analysis(e, world["p1"], make_result(), series={"a": [1.0, 2.0]}, series_t=[0.0, 1.0])
    with read_session(e) as s:
        assert s.scalars(select(Sample.t).where(Sample.session_id == sid)).all() == [0.0, 1.0]
