"""The dashboard's pages: thin functions over :mod:`formcheck.storage` (which enforces access)."""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from formcheck.dashboard.common import (
    TOKEN_KEY,
    choose_patient,
    deny,
    engine,
    fmt_num,
    fmt_time,
    query_int,
    require_principal,
)
from formcheck.errors import FormcheckError
from formcheck.storage import repo
from formcheck.storage.auth import AccessDenied, AuthError, authenticate, issue_token
from formcheck.storage.catalog import exercise_ids, exercise_label
from formcheck.storage.models import User

log = logging.getLogger(__name__)


def link(name: str, label: str, **query: Any) -> None:
    """A link to another page of the navigation (with query parameters)."""
    pages = st.session_state.get("_fc_pages", {})
    page = pages.get(name)
    if page is None:
        return
    st.page_link(page, label=label, query_params={k: str(v) for k, v in query.items()} or None)


# ------------------------------------------------------------------------------------------------ sign-in


def sign_in_page() -> None:
    st.title("formcheck")
    st.caption("Exercise form checking for low back pain. Everything stays on this computer.")
    if not repo.count_rows(engine(), User):
        st.info("No accounts yet. Create the first therapist with "
                "`formcheck users add NAME --role therapist`, or run `make demo` for the demo accounts.")
    with st.form("sign_in"):
        username = st.text_input("User name", key="sign_in_user")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            p = authenticate(engine(), username, password)
        except AuthError as exc:
            st.error(str(exc))
            return
        st.session_state[TOKEN_KEY] = issue_token(engine(), p)
        st.rerun()


# ------------------------------------------------------------------------------------------------ overview


def overview_page() -> None:
    p = require_principal()
    eng = engine()
    st.title("Patients" if p.is_therapist else "My exercises")
    rows = repo.patient_overview(eng, p)
    if not rows:
        st.info("No patients yet: add one below." if p.is_therapist else
                "Your account is not linked to a patient record yet; ask your therapist.")
    for r in rows:
        with st.container(border=True):
            c1, c2, c3, c4 = st.columns([3, 2, 3, 4])
            c1.subheader(r.display_name)
            c1.caption(f"patient #{r.patient_id}")
            c2.metric("Adherence this week", "-" if r.adherence_week is None else f"{r.adherence_week:.0%}",
                      help="Sessions done against the prescription, prorated to today")
            c3.markdown(f"**Last session:** {fmt_time(r.last_session_at)}  \n"
                        f"{exercise_label(r.last_exercise) if r.last_exercise else ''} "
                        f"form {fmt_num(r.last_form_score, 0)}  \n"
                        f"**Sessions this week:** {r.sessions_week}  \n"
                        f"**Pain trend:** {r.pain_trend} (last: {r.pain_recent[-1] if r.pain_recent else '-'})")
            if r.flags:
                c4.error("\n".join(f"- {f}" for f in r.flags))
            else:
                c4.success("No flags")
            link("patient", f"Open {r.display_name}", patient=r.patient_id)
    if p.is_therapist:
        with st.expander("Add a patient"), st.form("add_patient", clear_on_submit=True):
            name = st.text_input("Name")
            notes = st.text_area("Notes")
            if st.form_submit_button("Add patient"):
                try:
                    pid = repo.create_patient(eng, p, name, notes=notes)
                except FormcheckError as exc:
                    st.error(str(exc))
                else:
                    st.success(f"Added patient #{pid}")


# ------------------------------------------------------------------------------------------------ patient


def patient_page() -> None:
    p = require_principal()
    eng = engine()
    info = choose_patient(p)
    st.title(info.display_name)
    st.caption(f"patient #{info.id} · therapist {info.therapist_name}" + (f" · {info.notes}" if info.notes else ""))
    program = repo.get_program(eng, p, info.id)
    st.subheader("Program")
    if program:
        st.dataframe([{"exercise": exercise_label(i["exercise_id"]), "sets": i["sets"], "reps": i["reps"],
                       "hold s": i["hold_s"], "side": i["side"] or "each/both", "per week": i["times_per_week"],
                       "target": i["overrides"].get("target"), "notes": i["notes"]} for i in program],
                     hide_index=True)
    else:
        st.info("No program assigned yet.")
    sessions = repo.list_sessions(eng, p, info.id)
    st.subheader(f"Sessions ({len(sessions)})")
    if sessions:
        st.dataframe(_session_table(sessions), hide_index=True, key="patient_sessions")
        for s in sessions[:10]:
            link("session", f"Review session #{s['id']}: {exercise_label(s['exercise_id'])}, "
                 f"{fmt_time(s['started_at'])}", session=s["id"])
    pains = repo.pain_history(eng, p, info.id)
    if pains:
        import altair as alt
        import pandas as pd

        st.subheader("Pain (0-10)")
        df = pd.DataFrame(pains)
        st.altair_chart(alt.Chart(df).mark_line(point=True).encode(
            x=alt.X("recorded_at:T", title="date"), y=alt.Y("score:Q", scale=alt.Scale(domain=[0, 10])),
            color="phase:N"), width="stretch")
    with st.expander("Record a pain rating"), st.form("pain", clear_on_submit=True):
        score = st.slider("Pain now (0 = none, 10 = worst imaginable)", 0, 10, 3)
        note = st.text_input("Note (optional)")
        if st.form_submit_button("Save pain rating"):
            try:
                repo.add_pain_rating(eng, p, info.id, int(score), note=note)
            except FormcheckError as exc:
                st.error(str(exc))
            else:
                st.success("Saved.")


def _session_table(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"session": s["id"], "date": fmt_time(s["started_at"]), "exercise": exercise_label(s["exercise_id"]),
             "status": s["status"], "reps": f"{s['rep_count']}/{s['reps_total']}",
             "form": s["form_score"], "mean ROM": s["mean_rom"], "mean hold s": s["mean_hold_s"],
             "harmful": s["harmful_faults"], "pain before": s["pain_before"], "pain after": s["pain_after"]}
            for s in sessions]


# ------------------------------------------------------------------------------------------------ session


def session_page() -> None:
    p = require_principal()
    eng = engine()
    sid = query_int("session")
    if sid is None:
        info = choose_patient(p, key="session_patient")
        sessions = repo.list_sessions(eng, p, info.id)
        st.title(f"Session review · {info.display_name}")
        if sessions:
            sid = st.selectbox("Session", [s["id"] for s in sessions], key="session_select",
                               format_func=lambda i: next(f"#{s['id']} {exercise_label(s['exercise_id'])} "
                                                          f"{fmt_time(s['started_at'])}" for s in sessions
                                                          if s["id"] == i))
        else:
            st.info("No sessions yet.")
        _upload_section(p, info.id)
        if sid is None:
            return
    try:
        d = repo.get_session(eng, p, sid)  # type: ignore[arg-type]
    except AccessDenied as exc:
        deny(exc)
        return
    s = d.session
    st.header(f"{exercise_label(s['exercise_id'])} · session #{s['id']}")
    st.caption(f"{d.patient.display_name} · {fmt_time(s['started_at'])} · {s['source']} · {s['status']}")
    m = st.columns(5)
    m[0].metric("Completed reps", f"{s['rep_count']}/{s['reps_total']}")
    m[1].metric("Form score", fmt_num(s["form_score"], 0))
    m[2].metric("Mean range", fmt_num(s["mean_rom"], 1, "°"))
    m[3].metric("Mean hold", fmt_num(s["mean_hold_s"], 1, " s"))
    m[4].metric("Pain before → after", f"{s['pain_before'] if s['pain_before'] is not None else '-'} → "
                f"{s['pain_after'] if s['pain_after'] is not None else '-'}")
    left, right = st.columns([1, 1])
    with left:
        video = next((a for a in d.artifacts if a["kind"] == "annotated_video"), None) or next(
            (a for a in d.artifacts if a["kind"] == "video"), None)
        from pathlib import Path

        if video and Path(video["path"]).is_file():
            st.video(video["path"])
        else:
            st.info("No video stored for this session (videos are kept only when you choose to).")
    with right:
        _angle_chart(d)
    st.subheader("Repetitions")
    if d.reps:
        st.dataframe(d.reps, hide_index=True, key="rep_table")
    else:
        st.info("No repetitions recorded.")
    st.subheader("Faults")
    if d.faults:
        st.dataframe([{"fault": f["id"], "severity": f["severity"], "from s": f["start_s"], "to s": f["end_s"],
                       "message": f["message"]} for f in d.faults], hide_index=True, key="fault_table")
        harmful = [f for f in d.faults if f["severity"] == "harmful"]
        if harmful:
            st.error(f"{len(harmful)} harmful posture(s) at " + ", ".join(f"{f['start_s']:.1f} s" for f in harmful))
    else:
        st.success("No faults.")
    if d.holds:
        st.subheader("Holds")
        st.dataframe(d.holds, hide_index=True, key="hold_table")
    from formcheck.storage.export import session_report_html

    st.download_button("Printable report (HTML)", session_report_html(eng, p, s["id"]),
                       file_name=f"formcheck-session-{s['id']}.html", mime="text/html")


def _angle_chart(d: repo.SessionDetail) -> None:
    import altair as alt
    import pandas as pd

    if not d.samples_t:
        st.info("No measures over time were recorded for this session.")
        return
    rows = [{"t": t, "measure": name, "value": vals[i]} for name, vals in d.samples.items()
            for i, t in enumerate(d.samples_t) if vals[i] is not None]
    df = pd.DataFrame(rows)
    line = alt.Chart(df).mark_line().encode(x=alt.X("t:Q", title="time (s)"),
                                            y=alt.Y("value:Q", title="angle (°)"), color="measure:N")
    layers = [line]
    if d.reps:
        reps = pd.DataFrame([{"start": r["start_s"], "end": r["end_s"], "complete": r["complete"]} for r in d.reps])
        layers.insert(0, alt.Chart(reps).mark_rect(opacity=0.15).encode(
            x="start:Q", x2="end:Q", color=alt.Color("complete:N", title="rep complete",
                                                     scale=alt.Scale(domain=[True, False],
                                                                     range=["green", "orange"]))))
    if d.faults:
        faults = pd.DataFrame([{"t": f["start_s"], "fault": f["id"]} for f in d.faults])
        layers.append(alt.Chart(faults).mark_rule(color="red").encode(x="t:Q", tooltip=["fault:N", "t:Q"]))
    chart = alt.layer(*layers).resolve_scale(color="independent")  # rep bands and lines: separate legends
    st.altair_chart(chart.properties(title="Angle over time", height=320), width="stretch")


def _upload_section(p: Any, patient_id: int) -> None:
    from formcheck.storage.uploads import VIDEO_EXTENSIONS, analyse_upload, max_upload_bytes

    with st.expander("Analyse a recorded video"):
        limit_mb = max(1, max_upload_bytes() // (1024 * 1024))
        st.caption(f"MP4, MOV, WebM, MKV or AVI, up to {limit_mb} MB. The video is analysed on this computer.")
        exercise = st.selectbox("Exercise", list(exercise_ids()), format_func=exercise_label, key="upload_exercise")
        side = st.selectbox("Side", ["auto", "left", "right"], key="upload_side")
        keep = st.checkbox("Keep the original video with the session", value=False, key="upload_keep")
        up = st.file_uploader("Video", type=[e.lstrip(".") for e in VIDEO_EXTENSIONS], key="upload_file",
                              max_upload_size=limit_mb)
        if st.button("Analyse", key="upload_go", disabled=up is None) and up is not None:
            bar = st.progress(0.0, text="starting")
            try:
                new_id = analyse_upload(engine(), p, patient_id, exercise, up, up.name, size=up.size,
                                        side=None if side == "auto" else side, keep_video=keep,
                                        progress=lambda f, msg: bar.progress(f, text=msg))
            except FormcheckError as exc:
                bar.empty()
                st.error(str(exc))
            else:
                st.success(f"Stored as session #{new_id}.")
                link("session", f"Review session #{new_id}", session=new_id)


# ------------------------------------------------------------------------------------------------ progress


def progress_page() -> None:
    import altair as alt
    import pandas as pd

    p = require_principal()
    info = choose_patient(p, key="progress_patient")
    st.title(f"Progress · {info.display_name}")
    rows = repo.progress_table(engine(), p, info.id)
    if not rows:
        st.info("No sessions yet.")
        return
    df = pd.DataFrame(rows)
    exercises = sorted(df["exercise_id"].unique())
    ex = st.selectbox("Exercise", exercises, format_func=exercise_label, key="progress_exercise")
    sub = df[df["exercise_id"] == ex]
    charts = [("mean_rom", "Range of motion (°, complete reps)"), ("mean_hold_s", "Hold time (s)"),
              ("form_score", "Form score (0-100)"), ("rep_count", "Completed reps")]
    cols = st.columns(2)
    for i, (col, title) in enumerate(charts):
        data = sub[["started_at", col]].dropna()
        with cols[i % 2]:
            if data.empty:
                st.caption(f"{title}: no data")
                continue
            st.altair_chart(alt.Chart(data).mark_line(point=True).encode(
                x=alt.X("started_at:T", title="date"), y=alt.Y(f"{col}:Q", title=title)
            ).properties(title=title, height=220), width="stretch")
    pain = sub.melt(id_vars=["started_at"], value_vars=["pain_before", "pain_after"], var_name="when",
                    value_name="pain").dropna()
    if not pain.empty:
        st.altair_chart(alt.Chart(pain).mark_line(point=True).encode(
            x=alt.X("started_at:T", title="date"), y=alt.Y("pain:Q", scale=alt.Scale(domain=[0, 10])),
            color="when:N").properties(title="Pain before / after", height=220), width="stretch")


# ------------------------------------------------------------------------------------------------ program


def program_page() -> None:
    p = require_principal()
    if not p.is_therapist:
        deny(AccessDenied("only a therapist can edit programs"))
    eng = engine()
    info = choose_patient(p, key="program_patient")
    st.title(f"Program · {info.display_name}")
    st.caption("Each row is one prescribed exercise. Leave reps/hold empty for the exercise's defaults; "
               "'target' overrides the spec's rep target (e.g. wall squat to 30°).")
    current = repo.get_program(eng, p, info.id)
    import pandas as pd

    cols = ["exercise_id", "sets", "reps", "hold_s", "side", "times_per_week", "target", "notes"]
    df = pd.DataFrame([{**{k: i.get(k) for k in cols}, "target": i["overrides"].get("target")} for i in current],
                      columns=cols)
    edited = st.data_editor(
        df, num_rows="dynamic", hide_index=True, key=f"program_editor_{info.id}",
        column_config={
            "exercise_id": st.column_config.SelectboxColumn("exercise", options=list(exercise_ids()), required=True),
            "sets": st.column_config.NumberColumn("sets", min_value=1, max_value=10, step=1, default=1),
            "reps": st.column_config.NumberColumn("reps", min_value=0, max_value=100, step=1, default=10),
            "hold_s": st.column_config.NumberColumn("hold s", min_value=0, max_value=600),
            "side": st.column_config.SelectboxColumn("side", options=["", "left", "right"]),
            "times_per_week": st.column_config.NumberColumn("per week", min_value=1, max_value=21, step=1,
                                                            default=7),
            "target": st.column_config.NumberColumn("target"),
            "notes": st.column_config.TextColumn("notes"),
        })
    name = st.text_input("Program name", value="Home program", key="program_name")
    if st.button("Save program", type="primary", key="program_save"):
        _save_program(p, info.id, _items_from_frame(edited), name)
    with st.expander("Import a program from CSV"):
        st.caption("Columns: exercise_id, sets, reps, hold_s, side, times_per_week, target, tolerance, notes "
                   "(only exercise_id is required). Replaces the current program; nothing is saved if any "
                   "row is invalid.")
        up = st.file_uploader("Program CSV", type=["csv"], key="program_csv", max_upload_size=1)
        if up is not None and st.button("Import", key="program_import"):
            from formcheck.storage.export import parse_program_csv

            try:
                items = parse_program_csv(up.getvalue())
            except FormcheckError as exc:
                st.error(str(exc))
            else:
                _save_program(p, info.id, items, name)


def _items_from_frame(df: Any) -> list[dict[str, Any]]:
    import math

    items = []
    for row in df.to_dict("records"):
        if not row.get("exercise_id"):
            continue
        item: dict[str, Any] = {"exercise_id": row["exercise_id"]}
        for k in ("sets", "reps", "times_per_week"):
            v = row.get(k)
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                item[k] = int(v)
        hold = row.get("hold_s")
        if hold is not None and not (isinstance(hold, float) and math.isnan(hold)):
            item["hold_s"] = float(hold)
        if row.get("side"):
            item["side"] = row["side"]
        target = row.get("target")
        if target is not None and not (isinstance(target, float) and math.isnan(target)):
            item["overrides"] = {"target": float(target)}
        if row.get("notes"):
            item["notes"] = str(row["notes"])
        items.append(item)
    return items


def _save_program(p: Any, patient_id: int, items: list[dict[str, Any]], name: str) -> None:
    if not items:
        st.error("The program has no exercises.")
        return
    try:
        repo.set_program(engine(), p, patient_id, items, name=name)
    except FormcheckError as exc:
        st.error(str(exc))
    else:
        st.success(f"Program saved ({len(items)} exercise{'s' if len(items) > 1 else ''}).")


# ------------------------------------------------------------------------------------------------ export


def export_page() -> None:
    from formcheck.storage.export import patient_reps_csv, patient_sessions_csv, session_report_html

    p = require_principal()
    eng = engine()
    info = choose_patient(p, key="export_patient")
    st.title(f"Export · {info.display_name}")
    slug = "".join(c if c.isalnum() else "-" for c in info.display_name.lower()).strip("-") or f"patient-{info.id}"
    st.download_button("Sessions (CSV)", patient_sessions_csv(eng, p, info.id), file_name=f"{slug}-sessions.csv",
                       mime="text/csv", key="export_sessions")
    st.download_button("Repetitions (CSV)", patient_reps_csv(eng, p, info.id), file_name=f"{slug}-reps.csv",
                       mime="text/csv", key="export_reps")
    sessions = repo.list_sessions(eng, p, info.id)
    if sessions:
        sid = st.selectbox("Session report", [s["id"] for s in sessions], key="export_session",
                           format_func=lambda i: next(f"#{s['id']} {exercise_label(s['exercise_id'])} "
                                                      f"{fmt_time(s['started_at'])}" for s in sessions if s["id"] == i))
        st.download_button("Printable session report (HTML)", session_report_html(eng, p, sid),
                           file_name=f"{slug}-session-{sid}.html", mime="text/html", key="export_report")


# ------------------------------------------------------------------------------------------------ live


def live_page() -> None:
    p = require_principal()
    try:
        from formcheck.live.webrtc_page import render_live_page
    except ImportError as exc:
        st.info(f"Live coaching is not available in this installation ({exc}).")
        return
    from formcheck.storage.live_sink import LiveSink

    info = choose_patient(p, key="live_patient")
    eng = engine()
    render_live_page(sink_factory=lambda ctx: LiveSink(eng, p, info.id))
