"""Exports: CSV per patient, a printable HTML report per session, and program CSV import."""

from __future__ import annotations

import csv
import html
import io
import math
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from formcheck.errors import FieldError, InputError
from formcheck.storage.auth import Principal
from formcheck.storage.catalog import exercise_label
from formcheck.storage.repo import get_session, list_sessions

SESSION_COLUMNS = (
    "session_id", "started_at", "exercise_id", "side", "source", "status", "duration_s", "rep_count",
    "reps_total", "mean_rom", "mean_hold_s", "max_hold_s", "form_score", "faults", "harmful_faults",
    "pain_before", "pain_after",
)
REP_COLUMNS = ("session_id", "started_at", "exercise_id", "index", "side", "start_s", "end_s", "peak",
               "range_of_motion", "hold_s", "complete", "form_score", "faults")
PROGRAM_COLUMNS = ("exercise_id", "sets", "reps", "hold_s", "side", "times_per_week", "target", "tolerance",
                   "notes")
MAX_PROGRAM_CSV_BYTES = 64 * 1024


def _fmt(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if not math.isfinite(v) else round(v, 3)
    if isinstance(v, datetime):
        return v.isoformat(timespec="seconds")
    return v


def patient_sessions_csv(engine: Engine, principal: Principal, patient_id: int) -> str:
    """All sessions of a patient, one row each (oldest first)."""
    rows = list(reversed(list_sessions(engine, principal, patient_id)))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(SESSION_COLUMNS)
    for r in rows:
        r = {**r, "session_id": r["id"]}
        w.writerow([_fmt(r.get(c)) for c in SESSION_COLUMNS])
    return buf.getvalue()


def patient_reps_csv(engine: Engine, principal: Principal, patient_id: int) -> str:
    """Every rep of every session of a patient."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(REP_COLUMNS)
    for row in reversed(list_sessions(engine, principal, patient_id)):
        detail = get_session(engine, principal, row["id"])
        for rep in detail.reps:
            merged = {**rep, "session_id": row["id"], "started_at": row["started_at"],
                      "exercise_id": row["exercise_id"]}
            w.writerow([_fmt(merged.get(c)) for c in REP_COLUMNS])
    return buf.getvalue()


def _svg_plot(t: list[float], series: dict[str, list[float | None]], width: int = 640, height: int = 200) -> str:
    pts_all = [(ti, v) for vals in series.values() for ti, v in zip(t, vals) if v is not None]
    if len(pts_all) < 2:
        return "<p>No measure samples were recorded for this session.</p>"
    t0, t1 = min(p[0] for p in pts_all), max(p[0] for p in pts_all)
    v0, v1 = min(p[1] for p in pts_all), max(p[1] for p in pts_all)
    if t1 == t0:
        t1 = t0 + 1
    if v1 == v0:
        v1 = v0 + 1
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" '
              f'role="img" aria-label="measures over time">')]
    for i, (name, vals) in enumerate(series.items()):
        segs: list[list[str]] = [[]]
        for ti, v in zip(t, vals):
            if v is None:
                segs.append([])
                continue
            x = (ti - t0) / (t1 - t0) * (width - 10) + 5
            y = height - (v - v0) / (v1 - v0) * (height - 10) - 5
            segs[-1].append(f"{x:.1f},{y:.1f}")
        c = colours[i % len(colours)]
        for seg in segs:
            if len(seg) > 1:
                parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5" points="{" ".join(seg)}"/>')
        parts.append(f'<text x="{5 + 150 * i}" y="{height + 20}" fill="{c}" font-size="12">{html.escape(name)}</text>')
    parts.append(f'<text x="5" y="12" font-size="10">{v1:.0f}</text>')
    parts.append(f'<text x="5" y="{height - 2}" font-size="10">{v0:.0f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def session_report_html(engine: Engine, principal: Principal, session_id: int) -> str:
    """A self-contained printable HTML report of one session (no external resources)."""
    d = get_session(engine, principal, session_id)
    s = d.session
    e = html.escape

    def cell(v: Any) -> str:
        v = _fmt(v)
        if isinstance(v, bool):
            v = "yes" if v else "no"
        return f"<td>{e(str(v))}</td>"

    rep_rows = "".join(
        "<tr>" + "".join(cell(r[c]) for c in ("index", "side", "start_s", "end_s", "peak", "range_of_motion",
                                               "hold_s", "complete", "form_score", "faults")) + "</tr>"
        for r in d.reps
    ) or '<tr><td colspan="10">No repetitions recorded.</td></tr>'
    fault_rows = "".join(
        f"<tr><td>{e(str(f['id']))}</td><td class='{e(str(f['severity']))}'>{e(str(f['severity']))}</td>"
        f"{cell(f['start_s'])}{cell(f['end_s'])}<td>{e(f['message'] or '')}</td></tr>"
        for f in d.faults
    ) or '<tr><td colspan="5">No faults.</td></tr>'
    hold_rows = "".join(
        f"<tr>{cell(h['start_s'])}{cell(h['end_s'])}{cell(h['duration_s'])}{cell(h['completed'])}</tr>"
        for h in d.holds
    ) or '<tr><td colspan="4">No holds.</td></tr>'
    names = list(d.samples)[:4]
    plot = _svg_plot(d.samples_t, {n: d.samples[n] for n in names})
    overrides = ", ".join(f"{k} = {v}" for k, v in d.overrides.items()) or "spec defaults"
    pain = f"{_fmt(s['pain_before'])} before, {_fmt(s['pain_after'])} after" if (
        s["pain_before"] is not None or s["pain_after"] is not None) else "not rated"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Session {s['id']} - {e(exercise_label(s['exercise_id']))} - {e(d.patient.display_name)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ border: 1px solid #999; padding: 3px 8px; text-align: right; font-size: 13px; }}
th {{ background: #eee; }} td:first-child {{ text-align: left; }}
.harmful {{ color: #b00; font-weight: bold; }}
@media print {{ body {{ margin: 0.5cm; }} }}
</style></head><body>
<h1>{e(exercise_label(s['exercise_id']))} &mdash; session {s['id']}</h1>
<p><b>Patient:</b> {e(d.patient.display_name)} &nbsp; <b>Therapist:</b> {e(d.patient.therapist_name)}<br>
<b>Date:</b> {e(_fmt(s['started_at']) or '')} &nbsp; <b>Status:</b> {e(s['status'])} &nbsp;
<b>Source:</b> {e(s['source'])} &nbsp; <b>Side:</b> {e(s['side'] or '-')}<br>
<b>Completed reps:</b> {s['rep_count']} of {s['reps_total']} &nbsp;
<b>Form score:</b> {e(str(_fmt(s['form_score'])) or '-')} &nbsp; <b>Pain:</b> {e(pain)}<br>
<b>Targets:</b> {e(overrides)}</p>
<h2>Measures over time</h2>
{plot}
<h2>Repetitions</h2>
<table><tr><th>#</th><th>side</th><th>start s</th><th>end s</th><th>peak</th><th>range</th><th>hold s</th>
<th>complete</th><th>form</th><th>faults</th></tr>{rep_rows}</table>
<h2>Faults</h2>
<table><tr><th>fault</th><th>severity</th><th>start s</th><th>end s</th><th>message</th></tr>{fault_rows}</table>
<h2>Holds</h2>
<table><tr><th>start s</th><th>end s</th><th>held s</th><th>completed</th></tr>{hold_rows}</table>
<p style="font-size:11px">formcheck &mdash; if any exercise worsens the pain or causes new pain, stop.</p>
</body></html>
"""


def parse_program_csv(data: bytes | str) -> list[dict[str, Any]]:
    """Program items from CSV (header: exercise_id, sets, reps, hold_s, side, times_per_week, target,
    tolerance, notes; only exercise_id is required).

    Raises :class:`FieldError` naming the line and column; nothing is returned half-parsed.
    """
    if isinstance(data, bytes):
        if len(data) > MAX_PROGRAM_CSV_BYTES:
            raise InputError(f"program CSV is {len(data)} bytes; the limit is {MAX_PROGRAM_CSV_BYTES}")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError("program CSV is not UTF-8 text") from exc
    reader = csv.DictReader(io.StringIO(data))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "exercise_id" not in header:
        raise FieldError("header", f"columns {', '.join(PROGRAM_COLUMNS)}", ",".join(header) or "(empty)",
                         where="program CSV")
    unknown = [h for h in header if h not in PROGRAM_COLUMNS]
    if unknown:
        raise FieldError("header", f"only the columns {', '.join(PROGRAM_COLUMNS)}", unknown[0],
                         where="program CSV")
    items = []
    from formcheck.storage.repo import validate_program_items

    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            raise FieldError("columns", f"{len(header)} values", len(header) + len(raw[None]),
                             where=f"program CSV line {line}")
        item: dict[str, Any] = {"exercise_id": row.get("exercise_id", ""), "overrides": {}}
        for col in ("sets", "reps", "times_per_week"):
            if row.get(col):
                item[col] = row[col]
        if row.get("hold_s"):
            item["hold_s"] = row["hold_s"]
        if row.get("side"):
            item["side"] = row["side"]
        if row.get("notes"):
            item["notes"] = row["notes"]
        for k in ("target", "tolerance"):
            v = row.get(k)
            if v:
                try:
                    item["overrides"][k] = float(v)
                except ValueError:
                    raise FieldError(k, "a number", v, where=f"program CSV line {line}") from None
        try:
            validate_program_items([item])
        except FieldError as exc:
            raise FieldError(exc.field, exc.expected, exc.actual, where=f"program CSV line {line}") from exc
        items.append(item)
    if not items:
        raise InputError("program CSV has no exercises")
    return items
