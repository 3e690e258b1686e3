"""Overview: tiles, accuracy heatmap (published and regraded), failures by category, domains and sizes.

Clicking a heatmap cell or a bar narrows the Failures page to it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data, state

st.title("Overview")
state.require_data()
url, f = state.db_url(), state.filters()


def _open_failures(model: str | None = None, benchmark: str | None = None, category: str | None = None) -> None:
    st.session_state["failures_models"] = [model] if model else []
    st.session_state["failures_benchmarks"] = [benchmark] if benchmark else []
    st.session_state["failures_categories"] = [category] if category else []
    st.session_state["failures_selected"] = None
    st.switch_page("app_pages/failures.py")


tiles = data.tiles(url, f)
cols = st.columns(5)
cols[0].metric("Models", tiles.models)
cols[1].metric("Benchmarks", tiles.benchmarks)
cols[2].metric("Responses", f"{tiles.responses:,}")
cols[3].metric("Failures", f"{tiles.failures:,}",
               help="Graded responses judged wrong by our regrade.")
cols[4].metric("Needs review", f"{tiles.needs_review:,}", help="Items waiting in the Triage queue.")
if tiles.graded < tiles.responses:
    st.warning(f"{tiles.responses - tiles.graded:,} responses are not graded yet: run `abel-triage grade`.")

acc = data.accuracy(url, f)
st.subheader("Accuracy by model and benchmark")
st.caption("Published = the publisher's own verdicts; regraded = ours. Click a cell to list its failures.")
if acc.empty:
    st.info("No graded or published verdicts yet.")
else:
    event = st.altair_chart(charts.accuracy_heatmap(acc), on_select="rerun", key="overview_heatmap",
                            height=charts.height_for(acc["model"].nunique(), 48, 180))
    picked = event.selection.get(charts.HEATMAP_SELECTION) if event else None
    if picked:
        _open_failures(picked[0].get("model"), picked[0].get("benchmark"))
    table = acc.pivot_table(index="model", columns=["benchmark", "kind"], values="accuracy", aggfunc="first")
    table = table.reindex(acc.sort_values(["size_b", "model"])["model"].drop_duplicates())
    table.columns = [f"{b} · {k}" for b, k in table.columns]
    with st.expander("Accuracy table (%)", expanded=False):
        st.dataframe(table.reset_index(), hide_index=True, key="overview_accuracy_table")

counts = data.category_counts(url, f)
st.subheader("Failures by category")
st.caption(
    "Rule categories come with checkable evidence; on 550 careful hand labels of Abel's failures they agree "
    "about 2 times in 3, and an `arithmetic` label is right about 9 times in 10 (docs/QUALITY.md). What the "
    "rules cannot see (misread quantities, steps left out) stays in `reasoning` with low confidence: the Triage "
    "page is where people settle it, and it shows how often the rules agree with them."
)
if counts.empty:
    st.info("No failures in the selection (or nothing graded yet).")
else:
    left, right = st.columns(2)
    with left:
        st.caption("per model (click a bar segment to open those failures)")
        ev = st.altair_chart(charts.failures_by_category(counts, "model"), on_select="rerun",
                             key="overview_by_model",
                             height=charts.height_for(counts["model"].nunique(), minimum=330))
        picked = ev.selection.get(charts.BAR_SELECTION) if ev else None
        if picked:
            _open_failures(model=picked[0].get("model"), category=picked[0].get("category"))
    with right:
        st.caption("per benchmark")
        ev = st.altair_chart(charts.failures_by_category(counts, "benchmark"), on_select="rerun",
                             key="overview_by_benchmark",
                             height=charts.height_for(counts["benchmark"].nunique(), minimum=330))
        picked = ev.selection.get(charts.BAR_SELECTION) if ev else None
        if picked:
            _open_failures(benchmark=picked[0].get("benchmark"), category=picked[0].get("category"))

if not acc.empty:
    left, right = st.columns(2)
    with left:
        st.subheader("In-domain vs out-of-domain")
        kind = "regraded" if (acc["kind"] == "regraded").any() else "published"
        sub = acc[acc["kind"] == kind].assign(hits=lambda d: d["accuracy"] * d["n"] / 100)
        dom = sub.groupby(["model", "domain"], as_index=False).agg(size_b=("size_b", "first"), hits=("hits", "sum"),
                                                                   n=("n", "sum"))
        dom["accuracy"] = (100 * dom["hits"] / dom["n"]).round(2)
        dom["kind"] = kind
        st.caption(f"{kind} accuracy, pooled over the benchmarks of each domain")
        st.altair_chart(charts.domain_accuracy(dom), key="overview_domain", height=300)
    with right:
        st.subheader("Across model sizes")
        st.caption("the same benchmark at 7B / 13B / 70B (solid/dashed: published/regraded)")
        st.altair_chart(charts.accuracy_by_size(acc), key="overview_sizes", height=300)

summary = data.run_summary(url, f)
with st.expander("Runs", expanded=False):
    show = summary[["run_id", "model", "benchmark", "domain", "source", "responses", "graded", "accuracy",
                    "published_accuracy"]]
    st.dataframe(show.round(2) if isinstance(show, pd.DataFrame) else show, hide_index=True)
