"""Abel Triage dashboard: `streamlit run dashboard/app.py` from the repository root.

Sets the page config, draws the shared sidebar and runs the page chosen in `st.navigation`. Pages live in
`dashboard/app_pages/`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

APP_DIR = Path(__file__).resolve().parent
if str(APP_DIR.parent) not in sys.path:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(APP_DIR.parent))

from dashboard import state  # noqa: E402

st.set_page_config(page_title="Abel Triage", page_icon=":material/troubleshoot:", layout="wide")

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("app_pages/failures.py", title="Failures", icon=":material/error:"),
    st.Page("app_pages/triage.py", title="Triage", icon=":material/fact_check:"),
    st.Page("app_pages/robustness.py", title="Robustness", icon=":material/shuffle:"),
    st.Page("app_pages/compare.py", title="Compare runs", icon=":material/compare_arrows:"),
    st.Page("app_pages/limitations.py", title="Limitations & roadmap", icon=":material/flag:"),
]

page = st.navigation(PAGES)
state.sidebar()
# Deep links from GitHub issues point at the root: `/?response=<id>` opens that failure.
if "response" in st.query_params and page.url_path != "failures":
    st.switch_page("app_pages/failures.py", query_params={"response": st.query_params["response"]})
page.run()
