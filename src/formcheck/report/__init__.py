"""Reports of an analysed session: ``result.json`` (versioned schema), ``reps.csv``, a self-contained
``report.html`` and the annotated H.264 video.

* :mod:`formcheck.report.schema` - the ``result.json`` document (pydantic models, JSON Schema).
* :mod:`formcheck.report.html` - the one-page HTML report (inline SVG plot, base64 thumbnails).
* :mod:`formcheck.report.video` - the browser-playable H.264 writer (PyAV, libx264, yuv420p).
"""

from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from formcheck.errors import InputError
from formcheck.report.schema import SCHEMA_VERSION, ResultDocument, json_schema, load_result

log = logging.getLogger(__name__)

__all__ = [
    "SCHEMA_VERSION",
    "ReportFiles",
    "ResultDocument",
    "Series",
    "Thumbnail",
    "check_writable_dir",
    "json_schema",
    "load_result",
    "reps_csv_text",
    "write_report_html",
    "write_reports",
    "write_reps_csv",
    "write_result_json",
]

REPS_CSV_COLUMNS = ("index", "side", "start_s", "end_s", "duration_s", "peak", "range_of_motion", "hold_s",
                    "complete", "form_score", "faults")


@dataclass(frozen=True)
class Series:
    """A measure over time for the report's plot: ``t`` (T,) seconds, ``values`` (T,) NaN where hidden."""

    name: str
    t: np.ndarray
    values: np.ndarray
    unit: str = "deg"

    def __post_init__(self) -> None:
        t = np.asarray(self.t, np.float64).reshape(-1)
        v = np.asarray(self.values, np.float64).reshape(-1)
        if t.shape != v.shape:
            from formcheck.errors import FieldError

            raise FieldError("values", f"shape {t.shape} (same as t)", v.shape)
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "values", v)


@dataclass(frozen=True)
class Thumbnail:
    """A JPEG snapshot of a faulty moment (from the annotated frame)."""

    t: float
    fault_id: str
    severity: str
    message: str
    jpeg: bytes = field(repr=False)


@dataclass(frozen=True)
class ReportFiles:
    """Paths of the files written (None when not written)."""

    result_json: Path
    reps_csv: Path
    report_html: Path
    video: Path | None = None
    extra_json: Path | None = None
    pdf: Path | None = None


def check_writable_dir(path: str | Path) -> Path:
    """Create ``path`` if needed and make sure files can be written in it; raise :class:`InputError`
    with one actionable line otherwise."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".formcheck-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except FileExistsError as exc:
        raise InputError(f"cannot write to output directory {path}: a file with that name exists; "
                         "choose another --out") from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot write to output directory {path}: {reason}; choose another --out") from exc
    return path


def _atomic_write(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def write_result_json(doc: ResultDocument, path: str | Path) -> Path:
    """Write ``result.json`` (validated against the schema on construction of ``doc``)."""
    return _atomic_write(Path(path), (doc.to_json() + "\n").encode())


def _cell(v: object) -> object:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".") if np.isfinite(v) else ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    return v


def reps_csv_text(doc: ResultDocument) -> str:
    """``reps.csv``: one row per repetition (complete or not); faults joined with ';'."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(REPS_CSV_COLUMNS)
    for r in doc.reps:
        w.writerow([_cell(v) for v in (r.index, r.side, r.start_s, r.end_s, r.end_s - r.start_s, r.peak,
                                       r.range_of_motion, r.hold_s, r.complete, r.form_score)]
                   + [";".join(r.faults)])
    return buf.getvalue()


def write_reps_csv(doc: ResultDocument, path: str | Path) -> Path:
    return _atomic_write(Path(path), reps_csv_text(doc).encode())


def write_report_html(doc: ResultDocument, path: str | Path, *, series: Series | None = None,
                      thumbnails: tuple[Thumbnail, ...] | list[Thumbnail] = (),
                      video_name: str | None = None) -> Path:
    from formcheck.report.html import render_html

    return _atomic_write(Path(path), render_html(doc, series=series, thumbnails=thumbnails,
                                                 video_name=video_name).encode())


def write_reports(doc: ResultDocument, out_dir: str | Path, *, series: Series | None = None,
                  thumbnails: tuple[Thumbnail, ...] | list[Thumbnail] = (), video: Path | None = None,
                  json_path: str | Path | None = None) -> ReportFiles:
    """Write ``result.json``, ``reps.csv`` and ``report.html`` into ``out_dir`` (and the same JSON to
    ``json_path`` when given)."""
    out = check_writable_dir(out_dir)
    video_name = None
    if video is not None and Path(video).exists():
        video_name = os.path.relpath(Path(video).resolve(), out.resolve())
    extra = None
    if json_path is not None:
        extra = Path(json_path)
        if extra.parent != Path(""):
            check_writable_dir(extra.parent)
        write_result_json(doc, extra)
    return ReportFiles(
        result_json=write_result_json(doc, out / "result.json"),
        reps_csv=write_reps_csv(doc, out / "reps.csv"),
        report_html=write_report_html(doc, out / "report.html", series=series, thumbnails=thumbnails,
                                      video_name=video_name),
        video=Path(video) if video is not None else None,
        extra_json=extra,
    )


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def export_pdf(html_path: str | Path, pdf_path: str | Path | None = None, *, timeout_s: float = 120.0) -> Path:
    """Print ``report.html`` to PDF with headless Chromium (offline, nothing fetched: the page is
    self-contained). Raises :class:`InputError` when no Chromium is installed or printing fails."""
    import subprocess
    import tempfile

    html_path = Path(html_path).resolve()
    pdf = Path(pdf_path) if pdf_path is not None else html_path.with_suffix(".pdf")
    exe = find_chromium()
    if exe is None:
        raise InputError("PDF export needs Chromium (e.g. `apt-get install chromium`); the HTML report was "
                         f"written to {html_path}")
    with tempfile.TemporaryDirectory(prefix="formcheck-pdf-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-pdf-header-footer",
               f"--user-data-dir={profile}", f"--print-to-pdf={pdf.resolve()}", html_path.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError(f"PDF export failed ({exc}); the HTML report is at {html_path}") from exc
    if proc.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise InputError(f"PDF export failed ({detail}); the HTML report is at {html_path}")
    log.info("wrote %s", pdf)
    return pdf
