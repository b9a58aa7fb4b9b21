"""A one-page Streamlit app around the live page, for the browser end-to-end test
(``streamlit run tests/e2e/live_app.py``). FORMCHECK_LIVE_EXERCISE preselects the exercise."""

import os

from formcheck.live.webrtc_page import render_live_page

render_live_page(default_exercise=os.environ.get("FORMCHECK_LIVE_EXERCISE"),
                 setup_default=os.environ.get("FORMCHECK_LIVE_SETUP", "0") == "1")
