"""formcheck's database: patients, programs, sessions and progress (SQLAlchemy 2, SQLite by default).

Quick use::

    from formcheck.storage import init_db, store_analysis
    engine = init_db()                       # formcheck-data/formcheck.db or $FORMCHECK_DB_URL
    session_id = store_analysis(engine, patient_id, result.to_dict(), video_path=video)

Live sessions write incrementally through :class:`SessionWriter`. Everything that reads patient
data takes a :class:`Principal` (from :func:`authenticate`) and enforces who may see what.
"""

from formcheck.storage.auth import (
    AccessDenied,
    AuthError,
    Principal,
    RateLimitedError,
    authenticate,
    create_user,
    principal_for_user,
)
from formcheck.storage.db import (
    DatabaseError,
    check_schema,
    current_revision,
    default_db_url,
    head_revision,
    init_db,
    make_engine,
    migrate,
)
from formcheck.storage.repo import (
    add_pain_rating,
    create_patient,
    get_patient,
    get_program,
    get_session,
    link_patient_user,
    list_patients,
    list_sessions,
    mark_stale_sessions_interrupted,
    patient_overview,
    prescription_overrides,
    set_program,
)
from formcheck.storage.results import store_analysis, store_result
from formcheck.storage.writer import SessionWriter

__all__ = [
    "AccessDenied", "AuthError", "DatabaseError", "Principal", "RateLimitedError", "SessionWriter",
    "add_pain_rating", "authenticate", "check_schema", "create_patient", "create_user", "current_revision",
    "default_db_url", "get_patient", "get_program", "get_session", "head_revision", "init_db",
    "link_patient_user", "list_patients", "list_sessions", "make_engine", "mark_stale_sessions_interrupted",
    "migrate", "patient_overview", "prescription_overrides", "principal_for_user", "set_program",
    "store_analysis", "store_result",
]
