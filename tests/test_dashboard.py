"""Streamlit AppTest for every dashboard page, including access control against URL and state tampering."""

from __future__ import annotations

import io

import pytest
from streamlit.testing.v1 import AppTest

from formcheck.storage import set_program, store_analysis
from formcheck.storage.auth import issue_token
from formcheck.storage.models import ExerciseSession
from formcheck.storage.repo import count_rows
from storage_world import PASSWORDS, copy_world
from test_storage import make_result


def _app(start=None):
    from formcheck.dashboard.app import main

    main(start=start)



@pytest.fixture()
def world(world_template, tmp_path, monkeypatch):
    w = copy_world(world_template, tmp_path / "fc.db")
    monkeypatch.setenv("FORMCHECK_DB_URL", w["url"])
    monkeypatch.setenv("FORMCHECK_MEDIA_DIR", str(tmp_path / "media"))
    e = w["engine"]
    t = [i / 10 for i in range(120)]
    w["s1"] = store_analysis(e, w["p1"], make_result(), series={"knee_flexion_left": [20 + x for x in t]},
                             series_t=t)
    w["s2"] = store_analysis(e, w["p2"], make_result("plank", faults=[]))
    w["s3"] = store_analysis(e, w["p3"], make_result("glute_bridge", faults=[]))
    set_program(e, w["t1"], w["p1"], [{"exercise_id": "wall_squat", "reps": 10, "hold_s": 5,
                                       "overrides": {"target": 30}}])
    yield w
    e.dispose()


def run(world, who=None, start=None, query=None, token=None):
    at = AppTest.from_function(_app, kwargs={"start": start}, default_timeout=60)
    if who is not None:
        at.session_state["fc_token"] = issue_token(world["engine"], world[who])
    if token is not None:
        at.session_state["fc_token"] = token
    for k, v in (query or {}).items():
        at.query_params[k] = str(v)
    return at.run()


def texts(at) -> str:
    """Everything a user can read on the page."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "error", "info", "success", "warning"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [str(m.label) + " " + str(m.value) for m in at.metric]
    for df in at.dataframe:
        parts.append(df.value.to_string())
    return "\n".join(parts)


def frame(at, column):
    """The first table on the page with this column."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a {column!r} column")


def no_exception(at):
    assert not at.exception, [e.value for e in at.exception]


# ------------------------------------------------------------------------------------------------ sign-in


def test_first_run_without_accounts_says_how_to_create_one(tmp_path, monkeypatch):
    from formcheck.storage import init_db

    init_db(tmp_path / "empty.db").dispose()
    monkeypatch.setenv("FORMCHECK_DB_URL", str(tmp_path / "empty.db"))
    at = AppTest.from_function(_app, default_timeout=60).run()
    no_exception(at)
    assert "formcheck users add NAME --role therapist" in texts(at)


def test_no_first_run_hint_once_accounts_exist(world):
    at = run(world)
    no_exception(at)
    assert "No accounts yet" not in texts(at)


def test_sign_in_then_overview_shows_only_own_patients(world):
    at = run(world)
    no_exception(at)
    assert at.button(key="FormSubmitter:sign_in-Sign in") is not None
    at.text_input(key="sign_in_user").input("alice")
    at.text_input(key="sign_in_password").input(PASSWORDS["alice"])
    at.button[0].click().run()
    no_exception(at)
    page = texts(at)
    assert "Patients" in page and "Pat One" in page and "Pat Two" in page
    assert "Pat Three" not in page
    assert "harmful posture" in page  # the flag of Pat One's session


def test_wrong_password_is_refused_then_rate_limited(world):
    at = run(world)
    for i in range(5):
        at.text_input(key="sign_in_user").input("alice")
        at.text_input(key="sign_in_password").input(f"wrong-{i}")
        at.button[0].click().run()
        assert "wrong user name or password" in texts(at)
    at.text_input(key="sign_in_user").input("alice")
    at.text_input(key="sign_in_password").input(PASSWORDS["alice"])
    at.button[0].click().run()
    no_exception(at)
    page = texts(at)
    assert "too many failed sign-in attempts" in page and "Pat One" not in page
    assert "fc_token" not in at.session_state


def test_forged_token_in_session_state_is_not_signed_in(world):
    at = run(world, token="forged-token")
    no_exception(at)
    assert "Pat One" not in texts(at) and at.text_input(key="sign_in_user") is not None


def test_sign_out_revokes_the_token(world):
    at = run(world, who="t1")
    token = at.session_state["fc_token"]
    at.button(key="sign_out").click().run()
    no_exception(at)
    assert at.text_input(key="sign_in_user") is not None
    again = run(world, token=token)  # the old token no longer works
    assert "Pat One" not in texts(again)


# ------------------------------------------------------------------------------------------------ pages


def test_patient_page_lists_sessions_program_and_pain(world):
    at = run(world, "t1", "patient", {"patient": world["p1"]})
    no_exception(at)
    page = texts(at)
    assert "Pat One" in page and "Wall squat" in page
    sessions = frame(at, "session")
    assert list(sessions["session"]) == [world["s1"]]


def test_session_review_shows_rep_table_chart_and_faults(world):
    at = run(world, "t1", "session", {"session": world["s1"]})
    no_exception(at)
    reps = frame(at, "complete")
    assert len(reps) == 3 and list(reps["complete"]) == [True, False, True]
    faults = frame(at, "fault")
    assert list(faults["fault"]) == ["trunk_flexion"]
    assert "harmful posture" in texts(at)
    charts = at.get("vega_lite_chart")
    assert charts, "no angle-over-time chart"
    assert any(b.label == "Printable report (HTML)" for b in at.get("download_button"))


def test_progress_page_has_charts(world):
    at = run(world, "pat1", "progress")
    no_exception(at)
    assert "Progress · Pat One" in texts(at)
    assert len(at.get("vega_lite_chart")) >= 3


def test_program_editor_saves_and_patients_cannot_open_it(world):
    at = run(world, "t1", "program", {"patient": world["p1"]})
    no_exception(at)
    at.button(key="program_save").click().run()
    no_exception(at)
    assert "Program saved (1 exercise)" in texts(at)
    denied = run(world, "pat1", "program", {"patient": world["p1"]})
    no_exception(denied)
    assert "only a therapist" in texts(denied)
    assert not denied.get("button") or all(b.key != "program_save" for b in denied.button)


def test_program_csv_import_errors_store_nothing(world):
    from formcheck.storage import get_program

    at = run(world, "t1", "program", {"patient": world["p1"]})
    up = at.get("file_uploader")[0]
    up.upload("prog.csv", b"exercise_id,reps\nwall_squat,10\nplank,lots\n", "text/csv")
    at.run()
    at.button(key="program_import").click().run()
    no_exception(at)
    assert "program CSV line 3" in texts(at)
    assert [i["exercise_id"] for i in get_program(world["engine"], world["t1"], world["p1"])] == ["wall_squat"]
    assert get_program(world["engine"], world["t1"], world["p1"])[0]["overrides"] == {"target": 30.0}


def test_export_page_offers_csv_and_report(world):
    at = run(world, "t1", "export", {"patient": world["p1"]})
    no_exception(at)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Sessions (CSV)", "Repetitions (CSV)", "Printable session report (HTML)"]


def test_live_sink_stores_each_exercise_as_a_session_with_pain(world):
    """The live page's sink: the records formcheck.live's coach emits become sessions as they happen."""
    from formcheck.storage import get_session, list_sessions
    from formcheck.storage.live_sink import LiveSink

    e = world["engine"]
    sink = LiveSink(e, world["pat1"], world["p1"])
    records = [
        {"type": "session_start", "t": 0.0, "program": "wall_squat", "pain_before": 3},
        {"type": "pain", "t": 0.0, "phase": "before", "score": 3},
        {"type": "exercise_start", "t": 0.0, "index": 0, "exercise": "wall_squat", "side": None,
         "overrides": {"target": 30.0}},
        {"type": "rep", "t": 6.0, "exercise": "wall_squat", "start_s": 1.0, "end_s": 6.0, "peak": 31.0,
         "complete": True, "count": 1},
        {"type": "fault", "t": 7.0, "exercise": "wall_squat", "id": "trunk_flexion", "severity": "harmful",
         "message": "Keep your back on the wall"},
        {"type": "hold", "t": 11.0, "exercise": "wall_squat", "duration_s": 5.0, "completed": True},
    ]
    for r in records:
        sink(r)
    sid = sink.session_ids[0]
    live = get_session(e, world["pat1"], sid)  # visible while still in progress
    assert live.session["status"] == "in_progress" or live.session["status"] == "completed"
    sink({"type": "exercise_end", "t": 12.0, "index": 0, "exercise": "wall_squat", "reason": "stopped",
          "result": None})
    sink({"type": "pain", "t": 12.5, "phase": "after", "score": 6})
    sink({"type": "session_end", "t": 12.5, "end_reason": "stopped"})
    d = get_session(e, world["t1"], sid)
    assert d.session["status"] == "interrupted" and d.session["source"] == "live"
    assert d.session["rep_count"] == 1 and d.reps[0]["peak"] == 31.0
    assert d.faults[0]["id"] == "trunk_flexion" and d.holds[0]["duration_s"] == 5.0
    assert (d.session["pain_before"], d.session["pain_after"]) == (3, 6)
    assert d.overrides == {"target": 30.0}
    assert list_sessions(e, world["pat1"], world["p1"])[0]["id"] == sid


# ------------------------------------------------------------------------------------------------ access


@pytest.mark.parametrize("start", ["patient", "progress", "export", "session"])
def test_patient_cannot_open_another_patients_page_by_url(world, start):
    for other in ("p2", "p3", "1 OR 1=1"):
        at = run(world, "pat1", start, {"patient": world.get(other, other)})
        no_exception(at)
        page = texts(at)
        assert "no patient" in page
        assert "Pat Two" not in page and "Pat Three" not in page


@pytest.mark.parametrize("who, session_key", [("pat1", "s2"), ("pat1", "s3"), ("t2", "s1"), ("t1", "s3")])
def test_session_of_someone_else_is_refused_by_url(world, who, session_key):
    at = run(world, who, "session", {"session": world[session_key]})
    no_exception(at)
    page = texts(at)
    assert "no session" in page
    assert not at.get("vega_lite_chart")
    assert all(df.value.empty for df in at.dataframe) if at.dataframe else True


def test_session_state_tampering_does_not_reveal_other_patients(world):
    at = run(world, "pat1", "session")
    no_exception(at)
    # a patient edits widget/session state to point at other patients' records
    at.session_state["patient_select"] = world["p3"]
    at.session_state["session_patient"] = world["p3"]
    at.session_state["_fc_principal"] = world["t1"]
    at.run()
    page = texts(at)
    assert "Pat Three" not in page and "Pat Two" not in page
    at.session_state["fc_token"] = issue_token(world["engine"], world["pat3"])[:-1] + "x"
    at.run()
    assert "Pat One" not in texts(at)


def test_therapist_cannot_open_another_therapists_patient(world):
    at = run(world, "t2", "patient", {"patient": world["p1"]})
    no_exception(at)
    assert "no patient" in texts(at) and "Pat One" not in texts(at)


# ------------------------------------------------------------------------------------------------ upload


def test_upload_of_non_video_or_oversized_file_is_refused_and_nothing_stored(world, monkeypatch):
    before = count_rows(world["engine"], ExerciseSession)
    at = run(world, "t1", "session", {"patient": world["p1"]})
    no_exception(at)
    up = at.get("file_uploader")[0]
    up.upload("notes.mp4", b"this is a text file, not a video" * 10, "video/mp4")
    at.run()
    at.button(key="upload_go").click().run()
    no_exception(at)
    assert "not a video" in texts(at)
    monkeypatch.setenv("FORMCHECK_MAX_UPLOAD_MB", "0.001")
    at = run(world, "t1", "session", {"patient": world["p1"]})
    at.get("file_uploader")[0].upload("big.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * 5000, "video/mp4")
    at.run()
    at.button(key="upload_go").click().run()
    assert "over the upload limit" in texts(at)
    assert count_rows(world["engine"], ExerciseSession) == before


def test_upload_library_checks_type_size_and_access(world):
    from formcheck.errors import InputError
    from formcheck.storage import AccessDenied
    from formcheck.storage.uploads import analyse_upload, check_upload

    e = world["engine"]
    with pytest.raises(InputError, match="not a video file"):
        check_upload("x.exe", 100, b"MZ\x90\0" * 4)
    with pytest.raises(InputError, match="empty"):
        check_upload("x.mp4", 0, b"")
    check_upload("x.webm", 100, b"\x1a\x45\xdf\xa3" + b"\0" * 12)  # accepted
    with pytest.raises(AccessDenied):
        analyse_upload(e, world["pat1"], world["p2"], "plank", io.BytesIO(b"\0\0\0\x18ftypmp42"), "a.mp4")


def test_undecodable_video_gives_clear_error_and_stores_nothing(world):
    from formcheck.errors import InputError
    from formcheck.storage.uploads import analyse_upload

    before = count_rows(world["engine"], ExerciseSession)
    data = b"\0\0\0\x18ftypmp42" + b"\x00garbage" * 500
    with pytest.raises(InputError) as exc:
        analyse_upload(world["engine"], world["t1"], world["p1"], "squat", io.BytesIO(data), "broken.mp4")
    assert "broken.mp4" in str(exc.value)
    assert count_rows(world["engine"], ExerciseSession) == before
