"""result.json (versioned schema), reps.csv, report.html and the H.264 writer."""

from __future__ import annotations

import base64
import csv
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from formcheck.errors import InputError
from formcheck.report import Series, Thumbnail, check_writable_dir, load_result, reps_csv_text, write_reports
from formcheck.report.html import render_plot_svg
from formcheck.report.schema import (
    SCHEMA_PATH,
    SCHEMA_VERSION,
    Fault,
    Hold,
    KeyMeasure,
    Prescription,
    Rep,
    ResultDocument,
    VideoInfo,
    json_schema,
)
from formcheck.report.video import H264Writer


def make_doc(**kw) -> ResultDocument:
    base = dict(
        formcheck_version="0.1.0", generated_at="2025-01-01T00:00:00+00:00", exercise="wall_squat",
        exercise_name="Wall squat", prescription=Prescription(reps=10, hold_s=5),
        key_measure=KeyMeasure(name="knee_flexion_left", target_min=40, target_max=50),
        video=VideoInfo(path="clip.mp4", fps=30, duration_s=20, frames=600, width=1280, height=720),
        rep_count=1,
        reps=[Rep(index=1, start_s=1, end_s=8, peak=47, range_of_motion=45, hold_s=5.1, complete=True,
                  form_score=100),
              Rep(index=2, start_s=10, end_s=16, peak=float("nan"), range_of_motion=30.5, hold_s=2, complete=False,
                  form_score=60, faults=["trunk_flexion", "ballistic"])],
        holds=[Hold(start_s=2, end_s=7.1, duration_s=5.1, completed=True),
               Hold(start_s=11, end_s=13, duration_s=2, completed=False)],
        faults=[Fault(id="trunk_flexion", severity="harmful", start_s=12, end_s=13.5,
                      message="Keep your back <b>against</b> the wall")],
        form_score=80, frames_with_person=590)
    base.update(kw)
    return ResultDocument(**base)


def test_committed_schema_is_up_to_date():
    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed == json.loads(json.dumps(json_schema())), \
        "run `python -m formcheck.report.schema` to regenerate result.schema.json"
    assert committed["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    for key in ("schema_version", "exercise", "video", "rep_count", "reps", "holds", "faults", "form_score",
                "frames_with_person", "partial"):
        assert key in committed["properties"]
        assert committed["properties"][key].get("description") or "$ref" in committed["properties"][key] or \
            committed["properties"][key].get("items"), f"{key} is documented"


def test_result_json_is_strict_json_and_validates(tmp_path: Path):
    jsonschema = pytest.importorskip("jsonschema")
    files = write_reports(make_doc(), tmp_path)
    text = files.result_json.read_text()

    def no_nan(c):
        raise AssertionError(f"non-JSON constant {c}")

    data = json.loads(text, parse_constant=no_nan)
    assert data["reps"][1]["peak"] is None  # NaN became null
    assert data["schema_version"] == SCHEMA_VERSION
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    again = load_result(files.result_json)
    assert again == make_doc()


def test_schema_rejects_wrong_documents(tmp_path: Path):
    with pytest.raises(ValueError):
        make_doc(rep_count=-1)
    with pytest.raises(ValueError):
        Fault(id="x", severity="fatal", start_s=0, end_s=1, message="m")
    with pytest.raises(ValueError):
        make_doc(surprise=1)
    bad = tmp_path / "r.json"
    bad.write_text('{"schema_version": "9.9"}')
    with pytest.raises(InputError, match="not a formcheck result.json"):
        load_result(bad)


def test_reps_csv_has_one_row_per_rep():
    rows = list(csv.DictReader(reps_csv_text(make_doc()).splitlines()))
    assert [r["index"] for r in rows] == ["1", "2"]
    assert rows[0]["complete"] == "yes" and rows[1]["complete"] == "no"
    assert rows[1]["peak"] == "" and rows[1]["range_of_motion"] == "30.5"
    assert rows[1]["faults"] == "trunk_flexion;ballistic"
    assert float(rows[0]["duration_s"]) == pytest.approx(7.0)


def _thumb() -> Thumbnail:
    img = np.zeros((90, 160, 3), np.uint8)
    img[:, :80] = (0, 0, 255)
    ok, jpg = cv2.imencode(".jpg", img)
    assert ok
    return Thumbnail(t=12.0, fault_id="trunk_flexion", severity="harmful", message="Keep your back flat",
                     jpeg=jpg.tobytes())


def test_report_html_is_self_contained_and_shows_the_session(tmp_path: Path):
    t = np.arange(600) / 30
    v = 45 * np.clip(np.sin(t / 3), 0, 1)
    files = write_reports(make_doc(), tmp_path, series=Series("knee_flexion_left", t, v), thumbnails=[_thumb()])
    html = files.report_html.read_text()
    # self-contained: no external resources
    assert not re.search(r"""(src|href)=['"]?https?:""", html)
    assert "<link" not in html and "<script" not in html
    # summary: reps done vs prescribed, harmful warning, plot with band, reps, fault marker
    assert "1 / 10" in html
    assert "Harmful posture detected" in html
    assert html.count("class=\"rep\"") == 2 and 'class="band"' in html and html.count('class="fault"') == 1
    assert 'class="measure"' in html
    # the rep table has both reps, the fault message is escaped
    assert html.count("<tr><td class='num'>") >= 2 + 2  # 2 reps + 2 holds
    assert "&lt;b&gt;against&lt;/b&gt;" in html and "<b>against</b>" not in html
    # the thumbnail is an inline JPEG that decodes
    m = re.search(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)", html)
    assert m
    img = cv2.imdecode(np.frombuffer(base64.b64decode(m.group(1)), np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (90, 160, 3)
    assert "Partial result" not in html


def test_partial_and_warnings_are_visible(tmp_path: Path):
    doc = make_doc(partial=True, warnings=["No person in view for 40% of the video"], faults=[], reps=[],
                   rep_count=0)
    html = write_reports(doc, tmp_path).report_html.read_text()
    assert "Partial result" in html and "No person in view for 40%" in html
    assert "No repetition was found" in html and "Harmful posture" not in html
    assert json.loads((tmp_path / "result.json").read_text())["partial"] is True


def test_plot_keeps_peaks_of_long_sessions():
    t = np.arange(200_000) / 30.0  # ~1.9 h
    v = np.full_like(t, 20.0)
    v[123_457] = 95.0
    doc = make_doc(video=VideoInfo(path="long.mp4", fps=30, duration_s=t[-1], frames=len(t), width=1, height=1))
    svg = render_plot_svg(doc, Series("knee_flexion_left", t, v))
    assert len(svg) < 400_000
    ys = [float(p.split(",")[1]) for p in re.search(r'class="measure" points="([^"]+)"', svg).group(1)
          .replace('points="', "").split()]
    assert max(ys) - min(ys) > 100, "the single-frame peak survives decimation"


def test_json_copy_and_unwritable_directory(tmp_path: Path):
    copy = tmp_path / "elsewhere" / "session.json"
    files = write_reports(make_doc(), tmp_path / "out", json_path=copy)
    assert copy.read_text() == files.result_json.read_text()
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write to output directory"):
        check_writable_dir(blocker / "out")
    with pytest.raises(InputError, match="a file with that name exists"):
        check_writable_dir(blocker)


def _decode(path: Path) -> tuple[list[float], list[np.ndarray], str, str]:
    import av

    times, images = [], []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        codec, fmt = s.codec_context.name, s.codec_context.pix_fmt
        for f in c.decode(s):
            times.append(float(f.pts * f.time_base))
            images.append(f.to_ndarray(format="bgr24"))
    return times, images, codec, fmt


def test_h264_writer_keeps_frames_and_variable_timestamps(tmp_path: Path):
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.02, 0.05, 40))  # variable frame rate
    path = tmp_path / "a.mp4"
    colours = []
    with H264Writer(path, (321, 181), fps=30) as w:  # odd size: cropped to even
        for i, ti in enumerate(t):
            c = (i * 6 % 256, 255 - i * 6 % 256, 128)
            colours.append(c)
            w.write(np.full((181, 321, 3), c, np.uint8), float(ti))
    times, images, codec, fmt = _decode(path)
    assert (codec, fmt) == ("h264", "yuv420p")
    assert len(images) == len(t)
    assert images[0].shape == (180, 320, 3)
    assert np.allclose(np.array(times) - times[0], t - t[0], atol=0.0015)
    for img, c in zip(images[::7], colours[::7]):
        assert np.abs(img.reshape(-1, 3).mean(0) - np.array(c)).max() < 12


def test_h264_writer_rejects_wrong_frames_and_cleans_up_on_error(tmp_path: Path):
    path = tmp_path / "b.mp4"
    with pytest.raises(ValueError), H264Writer(path, (64, 48), fps=25) as w:
        w.write(np.zeros((48, 64, 3), np.uint8), 0.0)
        w.write(np.zeros((50, 64, 3), np.uint8), 0.04)
    assert not path.exists(), "a broken video is not left behind"


@pytest.mark.browser
def test_annotated_video_plays_in_chromium(tmp_path: Path, chromium_path: str):
    sync_api = pytest.importorskip("playwright.sync_api")
    frames = 30
    with H264Writer(tmp_path / "annotated.mp4", (320, 240), fps=15) as w:
        for i in range(frames):
            w.write(np.full((240, 320, 3), (i * 8, 100, 200 - i * 5), np.uint8), i / 15)
    files = write_reports(make_doc(), tmp_path, video=tmp_path / "annotated.mp4")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(files.report_html.as_uri())
            res = page.evaluate("""() => new Promise((resolve) => {
                const v = document.querySelector('video');
                if (!v) { resolve({what: 'no video element'}); return; }
                const done = (what) => resolve({what, w: v.videoWidth, h: v.videoHeight, d: v.duration});
                v.addEventListener('loadeddata', () => done('loadeddata'));
                v.addEventListener('error', () => done('error ' + (v.error && v.error.code)));
                v.load();
                setTimeout(() => done('timeout'), 15000);
            })""")
        finally:
            browser.close()
    assert res["what"] == "loadeddata", res
    assert (res["w"], res["h"]) == (320, 240)
    assert res["d"] == pytest.approx(frames / 15, abs=0.1)


@pytest.mark.browser
def test_pdf_export(tmp_path: Path, chromium_path: str):
    from formcheck.report import export_pdf

    files = write_reports(make_doc(), tmp_path, thumbnails=[_thumb()])
    pdf = export_pdf(files.report_html)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 5000
