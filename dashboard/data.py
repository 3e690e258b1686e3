"""Cached access to `db.queries` for the pages.

The engine is a `st.cache_resource` per URL; query results are `st.cache_data` with a short TTL, keyed by
plain hashable arguments (URL string, tuples of names). Writes (triage) call `clear()` afterwards.
"""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from db import queries
from db.labels import add_human_label
from db.queries import FailureFilters, Filters
from db.session import make_engine, session_scope

log = logging.getLogger(__name__)

TTL_SECONDS = 60


@st.cache_resource(show_spinner=False)
def engine(url: str) -> Engine:
    return make_engine(url)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def has_responses(url: str) -> bool:
    return queries.has_responses(engine(url))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def filter_options(url: str) -> dict[str, list[str]]:
    return queries.filter_options(engine(url))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def breakdown(url: str, f: Filters) -> pd.DataFrame:
    """The one aggregate scan every overview figure is derived from."""
    return queries.run_breakdown_df(engine(url), f)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def run_summary(url: str, f: Filters) -> pd.DataFrame:
    return queries.summarize_runs(queries.runs_df(engine(url), f), breakdown(url, f))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def tiles(url: str, f: Filters) -> queries.Tiles:
    return queries.tiles_from(run_summary(url, f), queries.needs_review_from(engine(url), breakdown(url, f)))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def accuracy(url: str, f: Filters) -> pd.DataFrame:
    return queries.accuracy_from_summary(run_summary(url, f))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def category_counts(url: str, f: Filters) -> pd.DataFrame:
    return queries.category_counts_from(breakdown(url, f))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def failures(url: str, f: Filters, ff: FailureFilters, limit: int = queries.FAILURE_LIST_LIMIT) -> pd.DataFrame:
    return queries.failures_df(engine(url), f, ff, limit=limit)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def failure_count(url: str, f: Filters, ff: FailureFilters) -> int | None:
    return queries.count_failures(engine(url), f, ff)


def export_failures(url: str, f: Filters, ff: FailureFilters) -> pd.DataFrame:
    """Not cached: runs only when a download button is clicked."""
    return queries.failures_df(engine(url), f, ff, limit=queries.EXPORT_LIMIT, full=True)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def detail(url: str, response_id: int) -> queries.ResponseDetail | None:
    return queries.response_detail(engine(url), response_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def same_problem(url: str, problem_id: int, exclude_response: int) -> pd.DataFrame:
    return queries.same_problem_df(engine(url), problem_id, exclude_response=exclude_response)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def original(url: str, problem_id: int, model_id: int) -> queries.OriginalPair | None:
    return queries.original_of(engine(url), problem_id, model_id)


def triage_next(url: str, f: Filters, skipped: tuple[int, ...]) -> int | None:
    """Not cached: another person may have labelled the item a moment ago."""
    ids = queries.triage_queue_ids(engine(url), f, exclude=skipped, limit=1)
    return ids[0] if ids else None


def triage_reasons(url: str, response_id: int) -> list[str]:
    return queries.triage_reasons(engine(url), response_id)


def triage_progress(url: str, f: Filters) -> tuple[int, int]:
    """(human-labelled, still in the queue) within the filters."""
    return queries.human_label_count(engine(url), f), queries.count_needs_review(engine(url), f)


def save_human_label(url: str, response_id: int, category: str, *, author: str, note: str | None) -> None:
    """One short transaction per action, so concurrent triagers never lose each other's work."""
    with session_scope(engine(url)) as session:
        add_human_label(session, response_id, category, author=author, note=note or None)
    log.info("human label %s on response %d by %s", category, response_id, author)
    st.cache_data.clear()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def robustness(url: str, f: Filters) -> pd.DataFrame:
    return queries.robustness_df(engine(url), f)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def robustness_pairs(url: str, model: str, kind: str) -> pd.DataFrame:
    return queries.robustness_pairs_df(engine(url), model, kind)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def compare(url: str, run_a: int, run_b: int) -> queries.PairCounts:
    return queries.compare_counts(engine(url), run_a, run_b)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def run_categories(url: str, run_a: int, run_b: int) -> pd.DataFrame:
    return queries.run_category_counts_df(engine(url), [run_a, run_b])


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def regressed(url: str, run_a: int, run_b: int) -> pd.DataFrame:
    return queries.regressed_df(engine(url), run_a, run_b)
