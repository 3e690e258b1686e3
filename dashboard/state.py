"""The shared sidebar (database, global filters, triage author) and session-state helpers.

Session-state keys are prefixed with the page that owns them (`sidebar_`, `global_`, `failures_`, `triage_`,
...) and set with `setdefault`. Widget values are mirrored into plain keys because Streamlit drops the state of
a widget that a page did not render; the plain keys survive page switches (e.g. a chart click on the overview
that narrows the Failures page).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import streamlit as st

from dashboard import data
from db.labels import default_author
from db.queries import Filters
from db.session import DatabaseError, resolve_url

log = logging.getLogger(__name__)

IMPORT_HELP = (
    "This database has no responses yet. Import Abel's published outputs (a folder laid out like outputs/ in "
    "GAIR-NLP/abel, or `--from-github` instead of the folder), then grade and categorize them:"
)
IMPORT_COMMANDS = (
    "abel-triage import abel ../shared/data/abel-outputs --benchmarks ../shared/data/benchmarks\n"
    "abel-triage grade\n"
    "abel-triage categorize"
)


def persistent_widget(widget: Any, label: str, state_key: str, default: Any, **kwargs: Any) -> Any:
    """Render `widget` bound to the plain session key `state_key` (which survives page switches)."""
    st.session_state.setdefault(state_key, default)
    widget_key = f"_w_{state_key}"
    st.session_state[widget_key] = st.session_state[state_key]

    def _copy() -> None:
        st.session_state[state_key] = st.session_state[widget_key]

    widget(label, key=widget_key, on_change=_copy, **kwargs)
    return st.session_state[state_key]


def persistent_multiselect(label: str, options: Sequence[str], state_key: str, **kwargs: Any) -> list[str]:
    st.session_state.setdefault(state_key, [])
    # Values no longer offered (another database, deleted runs) would make the widget raise.
    st.session_state[state_key] = [v for v in st.session_state[state_key] if v in options]
    return list(persistent_widget(st.multiselect, label, state_key, [], options=list(options), **kwargs))


def db_url() -> str:
    return str(st.session_state.get("sidebar_db_url") or resolve_url())


def sidebar() -> None:
    """Draw the shared sidebar; every page reads its choices through `db_url()` and `filters()`."""
    with st.sidebar:
        persistent_widget(st.text_input, "Database", "sidebar_db_url", resolve_url(),
                          help="SQLAlchemy URL or SQLite path (default from ABEL_TRIAGE_DB or ./abel_triage.db).")
        try:
            options = data.filter_options(db_url())
        except DatabaseError as exc:
            st.error(f"Cannot open the database: {exc}")
            st.stop()
        st.caption("Global filters (all pages)")
        persistent_multiselect("Models", options["models"], "global_models", placeholder="All models")
        persistent_multiselect("Benchmarks", options["benchmarks"], "global_benchmarks",
                               placeholder="All benchmarks")
        persistent_multiselect("Domain", options["domains"], "global_domains", placeholder="All domains")
        persistent_widget(st.text_input, "Triage author", "triage_author", default_author(),
                          help="Saved with every human label you make on the Triage page.")


def filters() -> Filters:
    return Filters(
        models=tuple(st.session_state.get("global_models", [])),
        benchmarks=tuple(st.session_state.get("global_benchmarks", [])),
        domains=tuple(st.session_state.get("global_domains", [])),
    )


def require_data() -> None:
    """On an empty database, explain how to fill it (two lines) and stop the page."""
    if not data.has_responses(db_url()):
        st.info(IMPORT_HELP)
        st.code(IMPORT_COMMANDS, language="bash")
        st.stop()
