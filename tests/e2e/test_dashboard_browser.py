"""End to end in Debian's headless Chromium: sign in as a therapist, open a patient, review a session."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def dashboard(tmp_path):
    """``streamlit run streamlit_app.py`` on a free port against a temporary database with demo data."""
    from formcheck.storage import init_db
    from formcheck.storage.demo import seed_demo

    db = tmp_path / "demo.db"
    engine = init_db(db)
    seed_demo(engine)
    engine.dispose()
    port = _free_port()
    env = dict(os.environ, FORMCHECK_DB_URL=f"sqlite:///{db}", FORMCHECK_MEDIA_DIR=str(tmp_path / "media"),
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail("streamlit did not start:\n" + (tmp_path / "streamlit.log").read_text()[-3000:])
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_therapist_signs_in_opens_patient_and_reviews_a_session(dashboard, chromium_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(dashboard)
            page.get_by_role("textbox", name="User name").fill("therapist")
            page.get_by_role("textbox", name="Password").fill("demo-therapist")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Patients")).to_be_visible()
            expect(page.get_by_text("Adherence this week").first).to_be_visible()
            page.get_by_role("link", name="Open Pat Demo").click()
            expect(page.get_by_role("heading", name="Pat Demo")).to_be_visible()
            expect(page).to_have_url(re.compile(r"patient="), timeout=15000)  # set asynchronously
            page.get_by_role("link", name="Review session").first.click()
            expect(page.get_by_role("heading", name="Repetitions")).to_be_visible()
            expect(page).to_have_url(re.compile(r"session="), timeout=15000)
            table = page.locator('[data-testid="stDataFrame"]').first
            expect(table).to_be_visible()
            chart = page.locator('[data-testid="stVegaLiteChart"]').first
            expect(chart).to_be_visible()
            expect(chart.locator("canvas, svg").first).to_be_visible()
            expect(page.get_by_text("Completed reps")).to_be_visible()
            box = chart.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 150
        finally:
            browser.close()
