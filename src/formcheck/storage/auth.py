"""Accounts, sign-in and access control.

* Passwords are hashed with argon2id (argon2-cffi); hashes are upgraded on sign-in when the
  parameters change.
* Sign-in is rate limited per user name: after ``MAX_FAILURES`` failed attempts within
  ``FAILURE_WINDOW`` further attempts are refused (even with the right password) until
  ``LOCKOUT`` has passed since the last failure. Attempts are stored in the database, so the limit
  holds across dashboard sessions, processes and restarts.
* A :class:`Principal` is who is asking. Every library function that returns patient data takes one
  and checks it: a patient sees only their own record, a therapist only their own patients. The
  dashboard never filters by itself.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from formcheck.errors import FieldError, FormcheckError, InputError
from formcheck.storage.db import read_session, write_session
from formcheck.storage.models import ROLES, AuthSession, LoginAttempt, Patient, User, utcnow

log = logging.getLogger(__name__)

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=5)
TOKEN_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


class AuthError(InputError):
    """Wrong user name or password (the message never says which)."""


class RateLimitedError(AuthError):
    """Too many failed sign-ins; carries the number of seconds to wait."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        minutes = max(1, round(retry_after_s / 60))
        super().__init__(
            f"too many failed sign-in attempts; try again in about {minutes} minute{'s' if minutes > 1 else ''}"
        )


class AccessDenied(FormcheckError):
    """The signed-in user may not see or change this record."""

    exit_code = 3


@dataclass(frozen=True)
class Principal:
    """Who is asking: resolved from the database, never from user-editable state."""

    user_id: int
    username: str
    display_name: str
    role: str
    patient_id: int | None = None  # the patient record of a patient user

    @property
    def is_therapist(self) -> bool:
        return self.role == "therapist"

    @property
    def is_patient(self) -> bool:
        return self.role == "patient"


# ------------------------------------------------------------------------------------------------ hashing


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldError("password", f"at least {MIN_PASSWORD_LENGTH} characters", f"{len(password)} characters")


# ------------------------------------------------------------------------------------------------ users


def _clean_username(username: str) -> str:
    name = username.strip().lower()
    if not name or len(name) > 80 or any(c.isspace() for c in name):
        raise FieldError("username", "1-80 characters without spaces", username)
    return name


def create_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
) -> int:
    """Create an account; returns its id. Raises :class:`FieldError` for a taken name or bad role."""
    if role not in ROLES:
        raise FieldError("role", " or ".join(ROLES), role)
    name = _clean_username(username)
    pw_hash = hash_password(password)
    try:
        with write_session(engine) as s:
            user = User(username=name, display_name=(display_name or name).strip(), role=role,
                        password_hash=pw_hash)
            s.add(user)
            s.flush()
            return user.id
    except IntegrityError as exc:
        raise FieldError("username", "a name not yet in use", name) from exc


def set_password(engine: Engine, user_id: int, password: str) -> None:
    pw_hash = hash_password(password)
    with write_session(engine) as s:
        user = s.get(User, user_id)
        if user is None:
            raise InputError(f"no user with id {user_id}")
        user.password_hash = pw_hash


def _principal_for(s: Session, user: User) -> Principal:
    patient_id = None
    if user.role == "patient":
        patient_id = s.scalar(select(Patient.id).where(Patient.user_id == user.id))
    return Principal(user.id, user.username, user.display_name, user.role, patient_id)


def principal_for_user(engine: Engine, user_id: int) -> Principal:
    with read_session(engine) as s:
        user = s.get(User, user_id)
        if user is None or not user.active:
            raise AuthError("this account does not exist or is disabled")
        return _principal_for(s, user)


# ------------------------------------------------------------------------------------------------ sign-in


def _lockout_remaining(s: Session, username: str, now: datetime) -> float:
    last_success_id = s.scalar(
        select(func.max(LoginAttempt.id)).where(LoginAttempt.username == username, LoginAttempt.success)
    ) or 0
    failures = s.scalars(
        select(LoginAttempt.at)
        .where(LoginAttempt.username == username, LoginAttempt.success.is_(False),
               LoginAttempt.id > last_success_id, LoginAttempt.at > now - FAILURE_WINDOW)
        .order_by(LoginAttempt.at.desc())
    ).all()
    if len(failures) < MAX_FAILURES:
        return 0.0
    unlock = failures[0] + LOCKOUT
    return max(0.0, (unlock - now).total_seconds())


def authenticate(engine: Engine, username: str, password: str, *, now: datetime | None = None) -> Principal:
    """Check a user name and password; returns the :class:`Principal` or raises.

    Raises :class:`RateLimitedError` when the name is locked out (the password is then not even
    checked), :class:`AuthError` for a wrong name or password. Every attempt is recorded.
    """
    now = now or datetime.now(UTC)
    name = username.strip().lower()
    with write_session(engine) as s:
        remaining = _lockout_remaining(s, name, now)
        if remaining > 0:
            log.warning("sign-in refused for %r: rate limited for %.0f s", name, remaining)
            raise RateLimitedError(remaining)
        user = s.scalar(select(User).where(User.username == name))
        ok = False
        if user is not None and user.active:
            ok = verify_password(user.password_hash, password)
        else:
            _hasher.hash(password or "x")  # same cost whether or not the name exists
        s.add(LoginAttempt(username=name, at=now, success=ok))
        if ok:
            assert user is not None
            user.last_login_at = now
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            principal = _principal_for(s, user)
    if not ok:
        raise AuthError("wrong user name or password")
    return principal


def issue_token(engine: Engine, principal: Principal, *, now: datetime | None = None) -> str:
    """A random sign-in token for the dashboard (only its SHA-256 is stored)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with write_session(engine) as s:
        s.add(AuthSession(token_hash=_token_hash(token), user_id=principal.user_id, created_at=now,
                          expires_at=now + TOKEN_LIFETIME))
    return token


def principal_from_token(engine: Engine, token: str | None, *, now: datetime | None = None) -> Principal | None:
    """The principal a token belongs to, or None if it is unknown, expired or revoked."""
    if not token or not isinstance(token, str):
        return None
    now = now or utcnow()
    with read_session(engine) as s:
        row = s.scalar(select(AuthSession).where(AuthSession.token_hash == _token_hash(token)))
        if row is None or row.revoked or row.expires_at <= now:
            return None
        user = s.get(User, row.user_id)
        if user is None or not user.active:
            return None
        return _principal_for(s, user)


def revoke_token(engine: Engine, token: str | None) -> None:
    if not token:
        return
    with write_session(engine) as s:
        row = s.scalar(select(AuthSession).where(AuthSession.token_hash == _token_hash(token)))
        if row is not None:
            row.revoked = True


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ------------------------------------------------------------------------------------------------ access


def require_therapist(principal: Principal) -> None:
    if not principal.is_therapist:
        raise AccessDenied("only a therapist can do this")


def check_patient_access(s: Session, principal: Principal, patient_id: int, *, write: bool = False) -> Patient:
    """The patient record if ``principal`` may see it (or change it with ``write``), else AccessDenied.

    The message is the same whether the patient does not exist or belongs to someone else, so ids
    cannot be probed.
    """
    try:
        pid = int(patient_id)
    except (TypeError, ValueError):
        raise AccessDenied(f"no patient {patient_id!r} for this account") from None
    patient = s.get(Patient, pid)
    allowed = patient is not None and (
        (principal.is_therapist and patient.therapist_id == principal.user_id)
        or (principal.is_patient and not write and patient.user_id == principal.user_id)
    )
    if not allowed:
        log.warning("access denied: user %s (%s) to patient %r", principal.user_id, principal.role, patient_id)
        raise AccessDenied(f"no patient {patient_id!r} for this account")
    assert patient is not None
    return patient
