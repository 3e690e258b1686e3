"""Cached access to `db.queries` for the pages.

The engine is a `st.cache_resource` per URL; query results are `st.cache_data` with a short TTL, keyed by
plain hashable arguments (URL string, tuples of names). Writes (triage) call `clear()` afterwards.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from analysis.github_plan import SyncPlan
from db import limitations as lim
from db import queries
from db.agreement import agreement_report
from db.github_sync import PyGithubTracker, SyncResult, make_retry, preview_sync, sync_github
from db.labels import add_human_label
from db.queries import FailureFilters, Filters
from db.session import make_engine, session_scope
from db.settings import BY_NAME

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
def agreement(url: str, f: Filters, source: str = "rule") -> dict[str, Any]:
    """Rules vs people within the filters (`db.agreement.agreement_report`); a saved label clears it."""
    return agreement_report(engine(url), source=source, filters=f)


def agreement_categories_df(report: dict[str, Any]) -> pd.DataFrame:
    """Per category: how often people chose it, precision and recall of the machine's label (as percentages)."""
    rows = [{"category": c["category"], "labelled by people": c["labelled"], "predicted": c["predicted"],
             "precision %": None if c["precision"] is None else round(100.0 * c["precision"], 1),
             "precision": f"{c['right']}/{c['predicted']}",
             "recall %": None if c["recall"] is None else round(100.0 * c["recall"], 1),
             "recall": f"{c['found']}/{c['labelled']}"} for c in report["categories"]]
    return pd.DataFrame(rows, columns=["category", "labelled by people", "predicted", "precision %", "precision",
                                       "recall %", "recall"])


def agreement_disagreements_df(report: dict[str, Any]) -> pd.DataFrame:
    """One row per disagreement, with a link to the failure on the Failures page (`?response=<id>`)."""
    rows = [{"open": f"failures?response={d['response_id']}", "response_id": d["response_id"], "model": d["model"],
             "benchmark": d["benchmark"], "key": d["key"], "human": d["human"], "human step": d["human_step"],
             report["source"]: d["predicted"], "step": d["predicted_step"], "author": d["author"], "note": d["note"]}
            for d in report["disagreements"]]
    df = pd.DataFrame(rows, columns=["open", "response_id", "model", "benchmark", "key", "human", "human step",
                                     report["source"], "step", "author", "note"])
    for col in ("human step", "step"):
        df[col] = df[col].astype("Int64")  # a missing step stays blank, not NaN
    return df


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


# --- limitations & roadmap ------------------------------------------------------------------------------------------


def default_dashboard_url() -> str | None:
    """The base URL issue bodies link to, as `abel-triage sync github` takes it (env only; no default), so a
    body rendered here hashes the same as the one the command line wrote."""
    return os.environ.get(BY_NAME["dashboard_url"].env) or None


def ensure_limitations(url: str) -> int:
    """Seed limitations from analysis/limitations.toml when the table is empty; returns how many were added."""
    with session_scope(engine(url)) as session:
        if lim.list_limitations(session):
            return 0
        inserted = lim.seed_limitations(session).inserted
    log.info("seeded %d limitations", inserted)
    st.cache_data.clear()
    return inserted


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def limitation_views(url: str, dashboard_url: str | None) -> list[lim.LimitationView]:
    with session_scope(engine(url)) as session:
        return lim.limitation_views(session, dashboard_url=dashboard_url)


def set_fix_done(url: str, slug: str, text: str, done: bool) -> None:
    with session_scope(engine(url)) as session:
        changed = lim.set_fix_done(session, slug, text, done)
    if changed:
        log.info("%s: candidate fix %s: %s", slug, "ticked" if done else "unticked", text)
    st.cache_data.clear()


def _tracker(repo: str, api_url: str) -> PyGithubTracker:
    """The token comes from GITHUB_TOKEN inside PyGithubTracker; it never passes through the page."""
    return PyGithubTracker(repo, api_url=api_url, retry=make_retry(total=3, backoff_factor=0.5),
                           write_attempts=3, max_wait=60.0)


def github_plan(url: str, repo: str, api_url: str, dashboard_url: str | None) -> SyncPlan:
    """Dry run against GitHub: read its issues and plan; writes nothing anywhere (not cached: GitHub changes)."""
    return preview_sync(engine(url), _tracker(repo, api_url), dashboard_url=dashboard_url)


def apply_github_sync(url: str, repo: str, api_url: str, dashboard_url: str | None) -> SyncResult:
    result = sync_github(engine(url), _tracker(repo, api_url), dashboard_url=dashboard_url)
    log.info("synced %s: %d writes", repo, result.writes)
    st.cache_data.clear()
    return result


def limitations_df(views: list[lim.LimitationView]) -> pd.DataFrame:
    """One row per limitation: what it counts, its failures in the latest runs and its issue's sync state."""
    rows = []
    for v in views:
        spec = v.spec
        counted = [*spec.categories, *(f"flag:{x}" for x in spec.flags), *(f"domain:{x}" for x in spec.domains)]
        changed = v.content_changed
        rows.append({
            "limitation": spec.title, "slug": spec.slug, "status": v.status,
            "counted from": ", ".join(counted) or "(tracked by hand)",
            "failures": v.report.total_failures if spec.has_signal else None,
            "fixes done": f"{sum(f.done for f in spec.candidate_fixes)}/{len(spec.candidate_fixes)}",
            "issue": v.issue_url or None, "issue #": v.issue_number, "state": v.issue_state or "not synced",
            "last synced": v.last_synced_at,
            "changed since sync": "never synced" if changed is None else ("yes" if changed else "no"),
        })
    df = pd.DataFrame(rows)
    if not df.empty:
        df["failures"] = df["failures"].astype("Int64")  # None (tracked by hand) stays blank, not NaN
    return df


def trend_df(view: lim.LimitationView) -> pd.DataFrame:
    """Failure rate per model in the latest runs, by family and size (`series`), benchmark and generation."""
    rows = [
        {"series": f"{s.family} {s.size}".strip(), "benchmark": s.benchmark, "generation": p.generation or p.model,
         "model": p.model, "order": (p.generation, _size_number(s.size), p.model), "failures": p.failures,
         "responses": p.responses, "rate": round(100.0 * p.failures / p.responses, 2) if p.responses else 0.0}
        for s in view.report.trends for p in s.points
    ]
    df = pd.DataFrame(rows, columns=["series", "benchmark", "generation", "model", "order", "failures", "responses",
                                     "rate"])
    # The sort key as a rank, so the frame stays plain (Arrow cannot serialise tuples).
    df["order"] = df["order"].map({k: i for i, k in enumerate(sorted(set(df["order"])))})
    return df


def _size_number(size: str) -> float:
    """"7B" -> 7.0, for ordering sizes numerically (a string sort puts 13B before 7B)."""
    m = re.match(r"\s*(\d+(?:\.\d+)?)", size or "")
    return float(m.group(1)) if m else float("inf")


def counts_df(view: lim.LimitationView) -> pd.DataFrame:
    rows = [
        {"model": c.model, "benchmark": c.benchmark, "failures": c.failures, "responses": c.responses,
         "share %": round(100.0 * c.failures / c.responses, 2) if c.responses else 0.0,
         "at last sync": c.previous}
        for c in view.report.counts
    ]
    df = pd.DataFrame(rows, columns=["model", "benchmark", "failures", "responses", "share %", "at last sync"])
    return df.sort_values(["failures", "model", "benchmark"], ascending=[False, True, True], ignore_index=True)


def plan_df(plan: SyncPlan) -> pd.DataFrame:
    rows = [{"limitation": a.slug, "action": a.action, "issue": a.issue, "writes": a.writes,
             "why": "; ".join(a.reasons)} for a in plan.actions]
    return pd.DataFrame(rows, columns=["limitation", "action", "issue", "writes", "why"])

