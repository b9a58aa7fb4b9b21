"""What every dashboard page shares: the cached database engine, who is signed in, which patient.

Who is signed in is resolved on every run from a random token kept in ``st.session_state`` and
looked up in the database; the principal itself is never read back from session state, so editing
session state (or the URL) cannot change who you are. Which patient is shown comes from the URL
(``?patient=ID``) or a selector, and every read goes through the library's access checks.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

import streamlit as st
from sqlalchemy import Engine

from formcheck.errors import FormcheckError
from formcheck.storage.auth import AccessDenied, Principal, principal_from_token, revoke_token
from formcheck.storage.repo import PatientInfo, get_patient, list_patients

log = logging.getLogger(__name__)

TOKEN_KEY = "fc_token"


@st.cache_resource(show_spinner=False)
def _cached_engine(url: str) -> Engine:
    from formcheck.storage.db import check_schema, make_engine
    from formcheck.storage.repo import mark_stale_sessions_interrupted

    engine = make_engine(url)
    check_schema(engine)
    mark_stale_sessions_interrupted(engine)
    return engine


def engine() -> Engine:
    """The database engine (``FORMCHECK_DB_URL`` or the default SQLite file), created once per process."""
    from formcheck.storage.db import default_db_url

    try:
        return _cached_engine(default_db_url())
    except FormcheckError as exc:
        st.error(str(exc))
        st.stop()
        raise  # unreachable: st.stop() raises


def principal() -> Principal | None:
    token = st.session_state.get(TOKEN_KEY)
    if not isinstance(token, str):
        return None
    return principal_from_token(engine(), token)


def require_principal() -> Principal:
    p = principal()
    if p is None:
        st.warning("Please sign in.")
        st.stop()
    assert p is not None
    return p


def sign_out() -> None:
    revoke_token(engine(), st.session_state.get(TOKEN_KEY))
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.query_params.clear()


def deny(exc: Exception) -> None:
    """Show an access or input error and stop the page."""
    st.error(str(exc))
    st.stop()


def query_int(name: str) -> int | None | str:
    """An integer query parameter; the raw string when it is not an integer (access checks reject it)."""
    raw = st.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        return raw


def choose_patient(p: Principal, *, key: str = "patient_select") -> PatientInfo:
    """The patient this page is about: ``?patient=ID`` if given (access checked), else a selector."""
    eng = engine()
    wanted = query_int("patient")
    if wanted is not None:
        try:
            info = get_patient(eng, p, wanted)  # type: ignore[arg-type]
        except AccessDenied as exc:
            deny(exc)
            raise
        if p.is_therapist:
            _patient_selector(p, info.id, key)
        return info
    patients = list_patients(eng, p)
    if not patients:
        st.info("No patients yet." if p.is_therapist else "Your account is not linked to a patient record yet; "
                "ask your therapist.")
        st.stop()
    if len(patients) == 1:
        return patients[0]
    return _patient_selector(p, patients[0].id, key)


def _patient_selector(p: Principal, current: int, key: str) -> PatientInfo:
    patients = list_patients(engine(), p)
    ids = [x.id for x in patients]
    names = {x.id: x.display_name for x in patients}
    idx = ids.index(current) if current in ids else 0
    chosen = st.sidebar.selectbox("Patient", ids, index=idx, format_func=lambda i: f"{names[i]} (#{i})", key=key)
    if chosen != current and chosen is not None:
        st.query_params["patient"] = str(chosen)
    return next(x for x in patients if x.id == chosen)


def fmt_num(v: Any, digits: int = 1, suffix: str = "") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{digits}f}{suffix}"


def fmt_time(v: datetime | None) -> str:
    return "-" if v is None else v.astimezone().strftime("%Y-%m-%d %H:%M")
