"""Analysing an uploaded video for a patient: size and type limits, then analysis, then storage.

Checks happen before any analysis and nothing is stored unless the analysis succeeds: an oversized
file, a file that is not a video (by its name *and* its first bytes) or a video that cannot be decoded
gives a clear :class:`~formcheck.errors.InputError`. The uploaded video itself is kept only when the
user asks for it (``keep_video``); otherwise it lives in a temporary file for the analysis only.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, select

from formcheck.errors import InputError, VideoError
from formcheck.storage.auth import Principal, check_patient_access
from formcheck.storage.db import read_session, write_session
from formcheck.storage.models import Program, ProgramItem
from formcheck.storage.repo import prescription_overrides
from formcheck.storage.results import store_result

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi")
DEFAULT_MAX_UPLOAD_MB = 500


def max_upload_bytes() -> int:
    """``FORMCHECK_MAX_UPLOAD_MB`` (default 500) in bytes."""
    raw = os.environ.get("FORMCHECK_MAX_UPLOAD_MB", "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        mb = DEFAULT_MAX_UPLOAD_MB
    return int(mb * 1024 * 1024)


def sniff_video(head: bytes) -> str | None:
    """The container named by a file's first bytes (mp4/mov, webm/mkv, avi), or None."""
    if len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    return None


def check_upload(filename: str, size: int, head: bytes, *, max_bytes: int | None = None) -> None:
    """Raise :class:`InputError` if the upload is too big or not a video."""
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    if size <= 0:
        raise InputError(f"{filename}: the file is empty")
    if size > limit:
        raise InputError(f"{filename}: {size / 1e6:.1f} MB is over the upload limit of {limit / 1e6:.0f} MB; "
                         "trim the video or raise FORMCHECK_MAX_UPLOAD_MB")
    ext = Path(filename).suffix.lower()
    if ext not in VIDEO_EXTENSIONS:
        raise InputError(f"{filename}: not a video file (expected {', '.join(VIDEO_EXTENSIONS)})")
    if sniff_video(head) is None:
        raise InputError(f"{filename}: the file's content is not a video (it does not start like "
                         f"an MP4, MOV, WebM, MKV or AVI file)")


def media_dir(engine: Engine) -> Path:
    """Where kept videos and annotated videos go: ``FORMCHECK_MEDIA_DIR``, else ``media/`` next to the
    SQLite file, else ``formcheck-data/media``."""
    env = os.environ.get("FORMCHECK_MEDIA_DIR", "").strip()
    if env:
        return Path(env)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return Path(engine.url.database).resolve().parent / "media"
    return Path("formcheck-data") / "media"


def program_overrides_for(engine: Engine, patient_id: int, exercise_id: str) -> tuple[int | None, dict[str, Any]]:
    """The active program item for this exercise (id, overrides of the spec), if any."""
    with read_session(engine) as s:
        item = s.scalar(
            select(ProgramItem).join(Program)
            .where(Program.patient_id == patient_id, Program.active, ProgramItem.exercise_id == exercise_id)
            .order_by(ProgramItem.position)
        )
        if item is None:
            return None, {}
        return item.id, prescription_overrides({"overrides": item.overrides, "reps": item.reps,
                                                "hold_s": item.hold_s, "sets": item.sets})


def analyse_upload(
    engine: Engine,
    principal: Principal,
    patient_id: int,
    exercise_id: str,
    fileobj: IO[bytes],
    filename: str,
    *,
    size: int | None = None,
    side: str | None = None,
    keep_video: bool = False,
    annotated: bool = True,
    progress: Callable[[float, str], None] | None = None,
    analyze: Callable[..., Any] | None = None,
) -> int:
    """Check, analyse and store an uploaded video for ``patient_id``; returns the new session id.

    ``progress(fraction, message)`` is called as the analysis advances. ``analyze`` defaults to
    :func:`formcheck.analysis.analyze_video`.
    """
    with read_session(engine) as s:
        check_patient_access(s, principal, patient_id)
    if size is None:
        fileobj.seek(0, os.SEEK_END)
        size = fileobj.tell()
    fileobj.seek(0)
    head = fileobj.read(16)
    fileobj.seek(0)
    check_upload(filename, size, head)
    if analyze is None:
        from formcheck.analysis import AnalysisOptions, analyze_video

        analyze = analyze_video
    else:
        from formcheck.analysis import AnalysisOptions
    item_id, overrides = program_overrides_for(engine, patient_id, exercise_id)
    report = progress or (lambda f, m: None)
    keep_dir = media_dir(engine) / f"patient-{patient_id}"
    with tempfile.TemporaryDirectory(prefix="formcheck-upload-") as tmp:
        src = Path(tmp) / ("upload" + Path(filename).suffix.lower())
        with open(src, "wb") as fh:
            shutil.copyfileobj(fileobj, fh, length=1 << 20)
        out_video = Path(tmp) / "annotated.mp4" if annotated else None

        def on_progress(done: int, total: int) -> None:
            report(min(0.99, done / total) if total else 0.0, f"analysed {done} of ~{total} frames")

        report(0.0, "analysing")
        try:
            result = analyze(src, exercise_id, overrides or None, side,
                             AnalysisOptions(video_path=out_video, progress=on_progress))
        except VideoError as exc:
            raise InputError(f"{filename}: {exc}") from exc
        series = getattr(result, "series", None)
        series_kw: dict[str, Any] = {}
        if series is not None:
            series_kw = {"series": {series.name: list(map(float, series.values))},
                         "series_t": list(map(float, series.t))}
        artifacts: dict[str, Path] = {}
        stem = f"{exercise_id}-{os.urandom(4).hex()}"
        if keep_video or (out_video is not None and out_video.is_file()):
            keep_dir.mkdir(parents=True, exist_ok=True)
        if out_video is not None and out_video.is_file():
            dest = keep_dir / f"{stem}-annotated.mp4"
            shutil.move(str(out_video), dest)
            artifacts["annotated_video"] = dest
        if keep_video:
            dest = keep_dir / f"{stem}{src.suffix}"
            shutil.move(str(src), dest)
            artifacts["video"] = dest
        try:
            with write_session(engine) as s:
                check_patient_access(s, principal, patient_id)
                sess = store_result(s, patient_id, result, source="upload", overrides=overrides,
                                    program_item_id=item_id, artifacts=artifacts, **series_kw)
                session_id = sess.id
        except Exception:
            for p in artifacts.values():  # nothing half-stored: no orphan files either
                Path(p).unlink(missing_ok=True)
            raise
    report(1.0, "stored")
    log.info("upload %s analysed as session %s", filename, session_id)
    return session_id
