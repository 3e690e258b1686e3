"""Limitations & roadmap: each limitation's failures, trend and GitHub issue, the next sync, and the milestone.

Limitations are seeded from analysis/limitations.toml when the table is empty. Candidate fixes ticked here are
stored in the database and pushed by the next sync. Syncing is two steps: a dry run that reads GitHub and shows
the plan with body diffs, then an explicit confirmation that applies it. The token is read from GITHUB_TOKEN by
the tracker itself; the page only checks that it is set.
"""

from __future__ import annotations

import os
import re

import streamlit as st

from analysis.limitations import LimitationConfigError
from dashboard import charts, data, state
from db.github_sync import DEFAULT_API_URL, TOKEN_ENV, GitHubSyncError

st.title("Limitations & roadmap")
state.require_data()
url = state.db_url()

try:
    seeded = data.ensure_limitations(url)
except LimitationConfigError as exc:
    st.error(f"Cannot seed limitations: {exc}")
    st.stop()
if seeded:
    st.toast(f"Seeded {seeded} limitations from analysis/limitations.toml")

dashboard_url = str(st.session_state.setdefault("limitations_dashboard_url", data.default_dashboard_url() or ""))
views = data.limitation_views(url, dashboard_url.strip() or None)
table = data.limitations_df(views)
by_slug = {v.spec.slug: v for v in views}

# --- the milestone ------------------------------------------------------------------------------------------------
for milestone in sorted({v.spec.milestone for v in views}):
    members = [v for v in views if v.spec.milestone == milestone]
    mitigated = sum(v.status == "mitigated" for v in members)
    fixes = [f for v in members for f in v.spec.candidate_fixes]
    fixes_done = sum(f.done for f in fixes)
    st.subheader(f"Milestone “{milestone}”")
    cols = st.columns(4)
    cols[0].metric("Limitations", len(members))
    cols[1].metric("Open", len(members) - mitigated)
    cols[2].metric("Mitigated", mitigated, help="Its GitHub issue is closed.")
    cols[3].metric("Candidate fixes done", f"{fixes_done}/{len(fixes)}")
    st.progress(mitigated / len(members), text=f"{mitigated} of {len(members)} limitations mitigated")
    if fixes:
        st.progress(fixes_done / len(fixes), text=f"{fixes_done} of {len(fixes)} candidate fixes done")
st.caption("Failures counted toward each limitation in the latest run of every model on every benchmark; "
           "limitations without a category, flag or domain are tracked by hand and show no bar.")
st.altair_chart(charts.limitation_failures(table), key="limitations_failures_chart",
                height=charts.height_for(len(table), per_row=30, extra=90))

# --- all limitations ------------------------------------------------------------------------------------------------
st.subheader("Limitations")
st.caption("“changed since sync”: the body rendered now differs from what the last sync wrote (for issues "
           "abel-triage created; the dry run below is the final word, e.g. for adopted issues).")
st.dataframe(
    table.drop(columns=["slug"]), hide_index=True, key="limitations_table",
    column_config={
        "limitation": st.column_config.TextColumn("limitation", width="medium"),
        "counted from": st.column_config.TextColumn("counted from", width="medium"),
        "issue": st.column_config.LinkColumn("issue", display_text=r".*/issues/(\d+)$"),
        "issue #": None,
        "last synced": st.column_config.DatetimeColumn("last synced", format="YYYY-MM-DD HH:mm"),
    },
)

# --- one limitation -------------------------------------------------------------------------------------------------
slugs = list(by_slug)
if st.session_state.get("limitations_selected") not in slugs:
    st.session_state["limitations_selected"] = slugs[0]
slug = str(st.selectbox("Limitation", slugs, format_func=lambda s: by_slug[s].spec.title, key="limitations_selected"))
view = by_slug[slug]
spec = view.spec
st.subheader(spec.title)
st.markdown(spec.description or "*(no description)*")
counted = [f"categories {', '.join(f'`{c}`' for c in spec.categories)}" if spec.categories else "",
           f"flags {', '.join(f'`{f}`' for f in spec.flags)}" if spec.flags else "",
           f"every failure on {', '.join(f'`{d}`' for d in spec.domains)} benchmarks" if spec.domains else ""]
counted = [c for c in counted if c]
st.markdown(f"**Counted from:** {'; '.join(counted)}." if counted else
            "**No automatic signal yet:** tracked by hand until a benchmark or a judge measures it.")

cols = st.columns(4)
cols[0].metric("Failures (latest runs)", f"{view.report.total_failures:,}" if spec.has_signal else "–")
cols[1].metric("Model × benchmark runs", view.report.runs_considered)
cols[2].metric("Issue", f"#{view.issue_number}" if view.issue_number else "none yet",
               help=view.issue_url or "Created by the first sync.")
changed = view.content_changed
cols[3].metric("Changed since last sync", "never synced" if changed is None else ("yes" if changed else "no"))
if view.issue_number:
    synced = view.last_synced_at.strftime("%Y-%m-%d %H:%M UTC") if view.last_synced_at else "never"
    st.markdown(f"GitHub issue [#{view.issue_number}]({view.issue_url}) · {view.issue_state} · last synced {synced}"
                if view.issue_url else f"GitHub issue #{view.issue_number} · {view.issue_state} · last synced {synced}")
if view.regression:
    st.warning(f"Regression since the last sync (the next sync reopens a closed issue): {view.regression}")
if view.below_threshold:
    st.info("Failures fell to this limitation's close threshold: the next sync proposes closing its issue.")

if spec.has_signal:
    trend = data.trend_df(view)
    st.markdown("**Trend across generations**")
    if trend.empty:
        st.info("No runs count toward this limitation yet.")
    else:
        st.caption("Failure rate in the latest run of each model, one panel per benchmark; a line joins the "
                   "generations of one family and size (e.g. Abel-001 → Abel-002).")
        st.altair_chart(charts.limitation_trend(trend), key="limitations_trend", width="content")
    with st.expander("Failures per model × benchmark", expanded=False):
        st.dataframe(data.counts_df(view), hide_index=True, key="limitations_counts")


def _tick(fix_slug: str, text: str, key: str) -> None:
    data.set_fix_done(url, fix_slug, text, bool(st.session_state[key]))


st.markdown("**Candidate fixes**")
st.caption("Ticks are saved in the database at once; the next sync pushes them to the issue's checklist "
           "(ticks made on GitHub are read back first).")
if not spec.candidate_fixes:
    st.caption("No candidate fixes listed yet.")
for i, fix in enumerate(spec.candidate_fixes):
    key = f"limitations_fix_{slug}_{i}_{int(fix.done)}"  # a new widget when the stored state changes elsewhere
    st.checkbox(fix.text, value=fix.done, key=key, on_change=_tick, args=(slug, fix.text, key))

with st.expander("Issue body preview (as the next sync renders it)", expanded=False):
    rendered, raw = st.tabs(["Rendered", "Markdown"])
    # Hidden HTML comments and <sub> are for GitHub; Streamlit would show them as text.
    shown = re.sub(r"<!--.*?-->\n?", "", view.body)
    rendered.markdown(re.sub(r"<sub>(.*?)</sub>", r"*\1*", shown))
    raw.code(view.body, language="markdown", wrap_lines=True)

# --- sync with GitHub -------------------------------------------------------------------------------------------------
st.subheader("Sync with GitHub")
c1, c2, c3 = st.columns(3)
with c1:
    repo = str(state.persistent_widget(st.text_input, "Repository (OWNER/NAME)", "limitations_repo", "",
                                       placeholder="GAIR-NLP/abel")).strip()
with c2:
    api_url = str(state.persistent_widget(st.text_input, "API URL", "limitations_api_url", DEFAULT_API_URL)).strip()
with c3:
    state.persistent_widget(st.text_input, "Dashboard URL (links in issue bodies)", "limitations_dashboard_url",
                            dashboard_url, help="As `--dashboard-url` / ABEL_TRIAGE_DASHBOARD_URL; empty: no links.")
has_token = bool(os.environ.get(TOKEN_ENV, "").strip())
if not has_token:
    st.error(f"{TOKEN_ENV} is not set: export a token with the `repo` scope (or fine-grained `issues: write`) "
             "in the environment that runs the dashboard, then restart it. It is never entered or stored here.")
else:
    st.caption(f"Token: read from {TOKEN_ENV} by the sync itself; never shown or stored.")
target = {"repo": repo, "api_url": api_url, "dashboard_url": dashboard_url.strip() or None}

if st.button("Dry run: plan the sync", key="limitations_dry_run", disabled=not (repo and api_url and has_token)):
    st.session_state.pop("limitations_result", None)
    try:
        plan = data.github_plan(url, repo, api_url, target["dashboard_url"])
    except GitHubSyncError as exc:
        st.session_state.pop("limitations_plan", None)
        st.error(f"Dry run failed: {exc}")
    else:
        st.session_state["limitations_plan"] = {**target, "plan": plan}
        st.session_state["limitations_confirm"] = False

result = st.session_state.get("limitations_result")
if result:
    st.success(result)

planned = st.session_state.get("limitations_plan")
if planned is None:
    st.caption("The plan for the next sync appears here after a dry run (it reads GitHub and writes nothing).")
elif any(planned[k] != v for k, v in target.items()):
    st.info(f"The last plan was made for {planned['repo']} at {planned['api_url']}; run the dry run again.")
else:
    plan = planned["plan"]
    counts = ", ".join(f"{n} {a}" for a, n in plan.counts().items() if n)
    st.markdown(f"**Plan for {repo}:** {counts} — {len(plan.pending)} issues to write.")
    for w in plan.warnings:
        st.warning(w)
    st.dataframe(data.plan_df(plan), hide_index=True, key="limitations_plan_table")
    for act in plan.pending:
        with st.expander(f"{act.action} · {act.slug} · {f'#{act.issue}' if act.issue else 'new issue'}"):
            diff = act.diff()
            st.code(diff or "(body unchanged)", language="diff", wrap_lines=True)
    if plan.pending:
        confirmed = st.checkbox(f"I reviewed this plan: write {len(plan.pending)} issues to {repo}",
                                key="limitations_confirm")
        if st.button("Apply to GitHub", key="limitations_apply", type="primary", disabled=not confirmed):
            try:
                applied = data.apply_github_sync(url, repo, api_url, target["dashboard_url"])
            except GitHubSyncError as exc:
                st.error(f"Sync failed: {exc}. What was written is recorded; run the dry run again to finish.")
                st.session_state.pop("limitations_plan", None)
            else:
                done = ", ".join(f"{n} {a}" for a, n in applied.plan.counts().items() if n)
                st.session_state["limitations_result"] = (f"Synced {repo}: {done}; {applied.writes} writes.")
                st.session_state.pop("limitations_plan", None)
                st.rerun()
    else:
        st.success("Nothing to write: every issue is up to date.")
