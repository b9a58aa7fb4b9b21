"""The dashboard's navigation: which pages a visitor gets depends on who is signed in.

``streamlit_app.py`` calls :func:`main`. Tests call ``main(start="session")`` to open a given page.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from formcheck.dashboard import pages
from formcheck.dashboard.common import principal, sign_out

# name -> (page function, title, icon, therapist only)
PAGES: dict[str, tuple[Callable[[], None], str, str, bool]] = {
    "overview": (pages.overview_page, "Overview", ":material/groups:", False),
    "patient": (pages.patient_page, "Patient", ":material/person:", False),
    "session": (pages.session_page, "Session review", ":material/play_circle:", False),
    "progress": (pages.progress_page, "Progress", ":material/trending_up:", False),
    "program": (pages.program_page, "Program editor", ":material/edit_note:", True),
    "export": (pages.export_page, "Export", ":material/download:", False),
    "live": (pages.live_page, "Live coaching", ":material/videocam:", False),
}


def _live_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("formcheck.live.webrtc_page") is not None
    except ImportError:
        return False


def main(start: str | None = None) -> None:
    """Build the navigation for the signed-in user (sign-in page only when nobody is) and run the page."""
    st.set_page_config(page_title="formcheck", page_icon=":material/accessibility_new:", layout="wide")
    who = principal()
    if who is None:
        # Every page's URL leads to the sign-in form (not "page not found"), so a deep link such as
        # /session?session=12 opens that session right after signing in.
        signin = [st.Page(pages.sign_in_page, title="Sign in", url_path="signin", default=True)]
        signin += [st.Page(pages.sign_in_page, title="Sign in", url_path=name, visibility="hidden")
                   for name in PAGES]
        st.navigation(signin, position="hidden").run()
        return
    start = start if start in PAGES else "overview"
    built = {}
    for name, (fn, title, icon, therapist_only) in PAGES.items():
        if name == "live" and not _live_available():
            continue
        hidden = therapist_only and not who.is_therapist
        if hidden and name != start:
            continue
        # A page hidden from this role is registered (hidden) only when explicitly asked for as ``start``
        # (tests); it refuses by itself, and the library functions it calls refuse too.
        built[name] = st.Page(fn, title=title, icon=icon, url_path=name, default=(name == start),
                              visibility="hidden" if hidden else "visible")
    st.session_state["_fc_pages"] = built
    with st.sidebar:
        st.markdown(f"**{who.display_name}**  \n{who.role}")
        if st.button("Sign out", key="sign_out"):
            sign_out()
            st.rerun()
    st.navigation(list(built.values())).run()
