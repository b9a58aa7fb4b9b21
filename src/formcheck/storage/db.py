"""Database engine, sessions and schema migrations.

SQLite is the embedded default (``formcheck-data/formcheck.db``, WAL mode, foreign keys on, a busy
timeout so concurrent writers wait instead of failing); any SQLAlchemy URL (e.g. PostgreSQL for a
clinic) can be given with ``FORMCHECK_DB_URL`` or passed explicitly. The schema is created and
upgraded only by the Alembic migrations in ``formcheck/storage/migrations`` (run programmatically).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from formcheck.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_DB_PATH = Path("formcheck-data") / "formcheck.db"
ENV_VAR = "FORMCHECK_DB_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 15_000


class DatabaseError(InputError):
    """The database cannot be opened or is not at the schema this version expects."""


def default_db_url() -> str:
    """``FORMCHECK_DB_URL`` if set, else the embedded SQLite file under ``formcheck-data/``."""
    url = os.environ.get(ENV_VAR, "").strip()
    if url:
        return url
    return f"sqlite:///{DEFAULT_DB_PATH.resolve()}"


def _normalise_url(url: str | os.PathLike[str] | None) -> str:
    if url is None:
        return default_db_url()
    text = os.fspath(url)
    if "://" not in text:  # a plain file path means SQLite
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    return text


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy (not pysqlite) emit BEGIN, so write transactions can use BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=FULL")  # durable on power loss, not only on a crash
    finally:
        cur.close()


def _on_sqlite_begin(conn: Any) -> None:
    # Writers take the write lock up front: a deferred transaction that reads first and then writes
    # can fail at once with "database is locked" instead of waiting for the other writer.
    if conn.get_execution_options().get("sqlite_immediate"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def make_engine(url: str | os.PathLike[str] | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (default: :func:`default_db_url`), with SQLite set up for WAL.

    The SQLite file's directory is created if needed. Does not create or upgrade the schema:
    use :func:`init_db` / ``formcheck db init``.
    """
    text = _normalise_url(url)
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise DatabaseError(f"database URL {text!r} is not a valid SQLAlchemy URL: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", BUSY_TIMEOUT_MS / 1000)
        try:
            engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        except Exception as exc:  # missing driver and the like
            raise DatabaseError(f"cannot open database {parsed!r}: {exc}") from exc
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    try:
        return create_engine(parsed, **kwargs)
    except Exception as exc:  # e.g. psycopg not installed
        raise DatabaseError(f"cannot open database {parsed.render_as_string()!r}: {exc}") from exc


def as_engine(db: Engine | str | os.PathLike[str] | None) -> Engine:
    """An engine from an engine, a URL, a SQLite file path or None (the default database)."""
    if isinstance(db, Engine):
        return db
    return make_engine(db)


def _sessionmaker(engine: Engine, write: bool) -> sessionmaker[Session]:
    bind = engine.execution_options(sqlite_immediate=True) if write else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A short read-only session (rolled back at the end)."""
    with _sessionmaker(engine, write=False)() as session:
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A transaction that commits on success and rolls back everything on error (nothing half-stored)."""
    with _sessionmaker(engine, write=True)() as session, session.begin():
        yield session


# --------------------------------------------------------------------------------------------- migrations


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(db: Engine | str | os.PathLike[str] | None = None, revision: str = "head") -> str | None:
    """Upgrade (or create) the schema to ``revision``; returns the revision now in place."""
    from alembic import command

    engine = as_engine(db)
    _run_alembic(engine, lambda cfg: command.upgrade(cfg, revision))
    return current_revision(engine)


def _run_alembic(engine: Engine, action: Any) -> None:
    """Run an Alembic command in one transaction. On SQLite, foreign keys are switched off meanwhile
    (as SQLite requires for table rebuilds: dropping the old copy of a table would otherwise cascade
    deletes into its children) and checked afterwards."""
    cfg = _alembic_config(engine)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:  # must happen outside a transaction; the connection has not begun one yet
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                action(cfg)
                if sqlite:
                    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if bad:
                        raise DatabaseError(f"migration would break {len(bad)} reference(s), e.g. {bad[0]}; "
                                            "nothing was changed")
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


def downgrade(db: Engine | str | os.PathLike[str] | None, revision: str) -> str | None:
    from alembic import command

    engine = as_engine(db)
    _run_alembic(engine, lambda cfg: command.downgrade(cfg, revision))
    return current_revision(engine)


def init_db(db: Engine | str | os.PathLike[str] | None = None) -> Engine:
    """Create or upgrade the database to the latest schema and return its engine."""
    engine = as_engine(db)
    migrate(engine)
    return engine


def current_revision(db: Engine | str | os.PathLike[str] | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = as_engine(db)
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def check_schema(engine: Engine) -> None:
    """Raise :class:`DatabaseError` with the fix when the schema is missing or out of date."""
    rev = current_revision(engine)
    head = head_revision()
    if rev is None:
        has_tables = bool(inspect(engine).get_table_names())
        hint = "it is not a formcheck database" if has_tables else "it is empty"
        raise DatabaseError(
            f"database {engine.url.render_as_string()} has no formcheck schema ({hint}); "
            "run `formcheck db init` first"
        )
    if rev != head:
        raise DatabaseError(
            f"database schema is at revision {rev}, this formcheck needs {head}; run `formcheck db migrate`"
        )
