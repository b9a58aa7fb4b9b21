"""The one-page, self-contained HTML report of a session.

Everything is inline: CSS, the angle-over-time plot (an SVG generated here, no plotting dependency)
and the thumbnails of faulty moments (base64 JPEG). The page only refers to the annotated video next to
it (``<video src>``), which is optional.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from html import escape

import numpy as np

from formcheck.report import Series, Thumbnail
from formcheck.report.schema import ResultDocument

_SEV_COLOUR = {"harmful": "#d62828", "warning": "#f08c00", "info": "#1c7ed6"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;background:#f5f6f8}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:1.6rem;margin:0 0 4px} h2{font-size:1.15rem;margin:28px 0 8px}
.sub{color:#5c6675;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border-radius:10px;padding:12px 16px;min-width:140px;box-shadow:0 1px 3px #0002}
.card .v{font-size:1.6rem;font-weight:700} .card .k{color:#5c6675;font-size:.85rem}
.alert{border-radius:8px;padding:10px 14px;margin:12px 0;background:#fff3bf;border:1px solid #f08c00}
.alert.harm{background:#ffe3e3;border-color:#d62828}
table{border-collapse:collapse;width:100%;background:#fff;border-radius:8px;overflow:hidden;font-size:.92rem}
th,td{padding:6px 8px;border-bottom:1px solid #e6e8eb;text-align:left} th{background:#eef0f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#2b8a3e;font-weight:600} .no{color:#868e96}
.sev{display:inline-block;border-radius:4px;padding:1px 6px;color:#fff;font-size:.8rem}
.plot{background:#fff;border-radius:8px;padding:8px}
.thumbs{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;background:#fff;border-radius:8px;padding:8px;width:300px;box-shadow:0 1px 3px #0002}
figure img{width:100%;border-radius:4px} figcaption{font-size:.85rem;margin-top:4px}
video{max-width:100%;border-radius:8px;background:#000}
footer{color:#868e96;font-size:.8rem;margin-top:32px}
"""


def _num(v: float | None, fmt: str = ".1f", unit: str = "") -> str:
    if v is None or not math.isfinite(v):
        return "&ndash;"
    return f"{v:{fmt}}{unit}"


def _clock(s: float) -> str:
    m, sec = divmod(max(0.0, s), 60)
    return f"{int(m)}:{sec:04.1f}"


def _segments(t: np.ndarray, v: np.ndarray) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    finite = np.isfinite(v) & np.isfinite(t)
    if not finite.any():
        return
    idx = np.flatnonzero(finite)
    breaks = np.flatnonzero(np.diff(idx) > 1) + 1
    for part in np.split(idx, breaks):
        yield t[part], v[part]


def _decimate(t: np.ndarray, v: np.ndarray, max_points: int = 2400) -> tuple[np.ndarray, np.ndarray]:
    """Keep at most ``max_points`` points; keeps each bucket's min and max so peaks survive."""
    n = len(t)
    if n <= max_points:
        return t, v
    bucket = math.ceil(n / (max_points // 2))
    keep: list[int] = []
    for s in range(0, n, bucket):
        chunk = v[s:s + bucket]
        if np.isfinite(chunk).any():
            a, b = int(np.nanargmin(chunk)) + s, int(np.nanargmax(chunk)) + s
            keep.extend(sorted({a, b}))
        else:
            keep.append(s)
    k = np.array(keep)
    return t[k], v[k]


def render_plot_svg(doc: ResultDocument, series: Series | None, width: int = 960, height: int = 320) -> str:
    """The key measure over time with its target band, rep boundaries and fault markers, as SVG."""
    ml, mr, mt, mb = 52, 16, 36, 56
    pw, ph = width - ml - mr, height - mt - mb
    duration = max(doc.video.duration_s, 1e-3)
    t = series.t if series is not None else np.zeros(0)
    v = series.values if series is not None else np.zeros(0)
    km = doc.key_measure
    bounds = [x for x in (km.target_min if km else None, km.target_max if km else None) if x is not None]
    finite_v = v[np.isfinite(v)]
    if finite_v.size:
        bounds += [float(finite_v.min()), float(finite_v.max())]
    lo, hi = (min(bounds), max(bounds)) if bounds else (0.0, 1.0)
    if hi - lo < 1e-6:
        lo, hi = lo - 1, hi + 1
    pad = 0.08 * (hi - lo)
    lo, hi = lo - pad, hi + pad

    def X(s: float) -> float:
        return ml + pw * min(max(s, 0.0), duration) / duration

    def Y(val: float) -> float:
        return mt + ph * (1 - (val - lo) / (hi - lo))

    out: list[str] = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
                      f'width="100%" role="img" aria-label="key measure over time">']
    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="#fbfcfd" stroke="#ced4da"/>')
    # rep spans
    for r in doc.reps:
        fill = "#d3f9d8" if r.complete else "#e9ecef"
        out.append(f'<rect class="rep" x="{X(r.start_s):.1f}" y="{mt}" width="{max(1.0, X(r.end_s) - X(r.start_s)):.1f}" '
                   f'height="{ph}" fill="{fill}" opacity="0.8"><title>rep {r.index}: {_clock(r.start_s)}-'
                   f'{_clock(r.end_s)} {"complete" if r.complete else "incomplete"}</title></rect>')
        out.append(f'<text x="{(X(r.start_s) + X(r.end_s)) / 2:.1f}" y="{mt - 5}" font-size="11" '
                   f'text-anchor="middle" fill="#495057">{r.index}</text>')
    for h in doc.holds:
        out.append(f'<rect class="hold" x="{X(h.start_s):.1f}" y="{mt + ph - 6}" '
                   f'width="{max(1.0, X(h.end_s) - X(h.start_s)):.1f}" height="6" '
                   f'fill="{"#2b8a3e" if h.completed else "#adb5bd"}"><title>hold {h.duration_s:.1f} s'
                   f'</title></rect>')
    # target band
    if km and (km.target_min is not None or km.target_max is not None):
        b_hi = hi if km.target_max is None else km.target_max
        b_lo = lo if km.target_min is None else km.target_min
        out.append(f'<rect class="band" x="{ml}" y="{Y(b_hi):.1f}" width="{pw}" height="{Y(b_lo) - Y(b_hi):.1f}" '
                   f'fill="#40c057" opacity="0.22"><title>target band</title></rect>')
    # axes: y ticks
    raw = (hi - lo) / 5
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    ystep = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / ystep) * ystep
    for k in range(12):
        val = first + k * ystep
        if val > hi:
            break
        y = Y(val)
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e9ecef"/>')
        out.append(f'<text x="{ml - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#495057">'
                   f'{val:g}</text>')
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 3600, 1e9) if duration / s <= 12)
    s = 0.0
    while s <= duration + 1e-9:
        x = X(s)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{mt + ph}" y2="{mt + ph + 4}" stroke="#868e96"/>')
        out.append(f'<text x="{x:.1f}" y="{mt + ph + 16}" font-size="11" text-anchor="middle" fill="#495057">'
                   f'{_clock(s) if duration > 90 else f"{s:g} s"}</text>')
        s += step
    # the measure
    tt, vv = _decimate(t, v)
    for seg_t, seg_v in _segments(tt, vv):
        pts = " ".join(f"{X(a):.1f},{Y(b):.1f}" for a, b in zip(seg_t, seg_v))
        out.append(f'<polyline class="measure" points="{pts}" fill="none" stroke="#1c7ed6" stroke-width="1.8"/>')
    # faults: a marker strip below the axis
    fy = mt + ph + 26
    for f in doc.faults:
        c = _SEV_COLOUR.get(f.severity, "#868e96")
        x0, x1 = X(f.start_s), X(f.end_s)
        out.append(f'<g class="fault"><rect x="{x0:.1f}" y="{fy}" width="{max(2.0, x1 - x0):.1f}" height="8" fill="{c}"/>'
                   f'<path d="M{x0:.1f},{fy - 2} l-5,-8 h10 z" fill="{c}"/>'
                   f'<title>{escape(f.id)} ({f.severity}) {_clock(f.start_s)}-{_clock(f.end_s)}: '
                   f'{escape(f.message)}</title></g>')
    label = escape(km.name.replace("_", " ") + (f" ({km.unit})" if km.unit else "")) if km else "measure"
    out.append(f'<text x="{ml}" y="13" font-size="12" fill="#1d2430">{label}</text>')
    out.append(f'<text x="{ml + pw}" y="{height - 6}" font-size="11" text-anchor="end" fill="#495057">'
               f'time; green: target band, shaded: reps (grey = incomplete), markers: faults</text>')
    out.append("</svg>")
    return "".join(out)


def render_html(doc: ResultDocument, *, series: Series | None = None,
                thumbnails: Iterable[Thumbnail] = (), video_name: str | None = None) -> str:
    """The whole report page as a string."""
    name = doc.exercise_name or doc.exercise.replace("_", " ").capitalize()
    p = doc.prescription
    harmful = [f for f in doc.faults if f.severity == "harmful"]
    cards = [
        ("Reps completed", f"{doc.rep_count}" + (f" / {p.reps}" if p.reps else "")),
        ("Reps attempted", str(len(doc.reps))),
    ]
    if doc.holds or p.hold_s:
        done = sum(h.completed for h in doc.holds)
        cards.append(("Holds completed" + (f" ({p.hold_s:g} s)" if p.hold_s else ""),
                      f"{done} / {len(doc.holds)}"))
    cards.append(("Faults (harmful)", f"{len(doc.faults)} ({len(harmful)})"))
    cards.append(("Form score", _num(doc.form_score, ".0f")))
    frac = doc.frames_with_person / doc.video.frames if doc.video.frames else 0.0
    cards.append(("Person in view", f"{100 * frac:.0f}%"))

    h: list[str] = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
                    "<meta name='viewport' content='width=device-width,initial-scale=1'>",
                    f"<title>formcheck report - {escape(name)}</title><style>{_CSS}</style></head><body><main>"]
    h.append(f"<h1>{escape(name)}</h1>")
    side = f" &middot; {escape(doc.side)} side" if doc.side else ""
    presc = []
    if p.reps:
        presc.append(f"{p.reps} reps" + (" each side" if p.sides == "each" else ""))
    if p.hold_s:
        presc.append(f"hold {p.hold_s:g} s")
    h.append(f"<p class='sub'>{escape(doc.video.path)} &middot; {_clock(doc.video.duration_s)} "
             f"({doc.video.frames} frames, {doc.video.width}&times;{doc.video.height}){side}"
             + (f" &middot; prescribed: {escape(', '.join(presc))}" if presc else "") + "</p>")
    if doc.partial:
        h.append("<div class='alert'><b>Partial result:</b> the video could not be read to the end; these "
                 "results cover the readable part only.</div>")
    if harmful:
        ids = sorted({f.id.replace("_", " ") for f in harmful})
        h.append(f"<div class='alert harm'><b>Harmful posture detected</b> ({escape(', '.join(ids))}). "
                 "Review with the patient; if any exercise worsens the pain or causes new pain, stop.</div>")
    for w in doc.warnings:
        h.append(f"<div class='alert'>{escape(w)}</div>")
    h.append("<div class='cards'>" + "".join(
        f"<div class='card'><div class='v'>{v}</div><div class='k'>{escape(k)}</div></div>" for k, v in cards)
        + "</div>")

    h.append("<h2>Over time</h2><div class='plot'>" + render_plot_svg(doc, series) + "</div>")

    h.append(f"<h2>Repetitions ({len(doc.reps)})</h2>")
    if doc.reps:
        unit = doc.key_measure.unit if doc.key_measure else ""
        h.append("<table class='reps'><thead><tr><th>#</th><th>Side</th><th>Start</th><th>End</th>"
                 f"<th>Peak ({escape(unit)})</th><th>Range ({escape(unit)})</th><th>Hold (s)</th><th>Complete</th>"
                 "<th>Score</th><th>Faults</th></tr></thead><tbody>")
        for r in doc.reps:
            ok = "<span class='ok'>yes</span>" if r.complete else "<span class='no'>no</span>"
            h.append(f"<tr><td class='num'>{r.index}</td><td>{escape(r.side or '')}</td>"
                     f"<td class='num'>{_clock(r.start_s)}</td><td class='num'>{_clock(r.end_s)}</td>"
                     f"<td class='num'>{_num(r.peak)}</td><td class='num'>{_num(r.range_of_motion)}</td>"
                     f"<td class='num'>{_num(r.hold_s)}</td><td>{ok}</td><td class='num'>{_num(r.form_score, '.0f')}"
                     f"</td><td>{escape(', '.join(r.faults))}</td></tr>")
        h.append("</tbody></table>")
    else:
        h.append("<p>No repetition was found.</p>")

    if doc.holds:
        h.append(f"<h2>Holds ({len(doc.holds)})</h2><table class='holds'><thead><tr><th>#</th><th>Start</th>"
                 "<th>End</th><th>Held (s)</th><th>Completed</th></tr></thead><tbody>")
        for i, hd in enumerate(doc.holds, 1):
            ok = "<span class='ok'>yes</span>" if hd.completed else "<span class='no'>no</span>"
            h.append(f"<tr><td class='num'>{i}</td><td class='num'>{_clock(hd.start_s)}</td>"
                     f"<td class='num'>{_clock(hd.end_s)}</td><td class='num'>{hd.duration_s:.1f}</td><td>{ok}</td></tr>")
        h.append("</tbody></table>")

    h.append(f"<h2>Faults ({len(doc.faults)})</h2>")
    if doc.faults:
        h.append("<table class='faults'><thead><tr><th>When</th><th>Fault</th><th>Severity</th><th>What to tell "
                 "the patient</th></tr></thead><tbody>")
        for f in doc.faults:
            c = _SEV_COLOUR.get(f.severity, "#868e96")
            h.append(f"<tr><td class='num'>{_clock(f.start_s)}&ndash;{_clock(f.end_s)}</td><td>{escape(f.id)}</td>"
                     f"<td><span class='sev' style='background:{c}'>{f.severity}</span></td>"
                     f"<td>{escape(f.message)}</td></tr>")
        h.append("</tbody></table>")
    else:
        h.append("<p>No fault was detected.</p>")

    thumbs = list(thumbnails)
    if thumbs:
        h.append("<h2>Faulty moments</h2><div class='thumbs'>")
        for th in thumbs:
            b64 = base64.b64encode(th.jpeg).decode("ascii")
            c = _SEV_COLOUR.get(th.severity, "#868e96")
            h.append(f"<figure class='thumb'><img alt='{escape(th.fault_id)} at {_clock(th.t)}' "
                     f"src='data:image/jpeg;base64,{b64}'><figcaption><span class='sev' style='background:{c}'>"
                     f"{escape(th.severity)}</span> {_clock(th.t)} &middot; {escape(th.message)}</figcaption></figure>")
        h.append("</div>")

    if video_name:
        h.append(f"<h2>Annotated video</h2><video controls preload='metadata' src='{escape(video_name)}'></video>")
    h.append(f"<footer>formcheck {escape(doc.formcheck_version)} &middot; result schema {doc.schema_version} "
             f"&middot; generated {escape(doc.generated_at)} &middot; analysed on this computer, nothing uploaded."
             "</footer></main></body></html>")
    return "\n".join(h)
