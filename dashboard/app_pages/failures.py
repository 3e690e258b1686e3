"""Failures explorer: filters, a table with single-row selection, the selected failure in full, and export.

`?response=<id>` opens a given failure (GitHub issue bodies link like that).
"""

from __future__ import annotations

import json

import streamlit as st

from analysis.types import Category, Flag, LabelSource
from dashboard import data, state
from dashboard.detail import render_detail
from db.queries import FAILURE_LIST_LIMIT, UNCATEGORIZED, FailureFilters, Filters

st.title("Failures")
state.require_data()
url, g = state.db_url(), state.filters()
options = data.filter_options(url)

# Page narrowing, intersected with the global filters from the sidebar.
with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    with c1:
        models = state.persistent_multiselect("Model", [m for m in options["models"] if not g.models or m in g.models],
                                              "failures_models", placeholder="All (global filter)")
        sources = state.persistent_multiselect("Label source", [s.value for s in LabelSource], "failures_sources",
                                               placeholder="Any source")
    with c2:
        benchmarks = state.persistent_multiselect(
            "Benchmark", [b for b in options["benchmarks"] if not g.benchmarks or b in g.benchmarks],
            "failures_benchmarks", placeholder="All (global filter)")
        flags = state.persistent_multiselect("Flag", [f.value for f in Flag], "failures_flags", placeholder="Any flag")
    with c3:
        categories = state.persistent_multiselect("Category", [c.value for c in Category] + [UNCATEGORIZED],
                                                  "failures_categories", placeholder="Any category")
        conf = state.persistent_widget(st.slider, "Confidence", "failures_confidence", (0.0, 1.0),
                                       min_value=0.0, max_value=1.0, step=0.05)
    text = state.persistent_widget(st.text_input, "Search question and response text", "failures_text", "",
                                   placeholder="e.g. 12 * 15, or a word from the question")

f = Filters(models=tuple(models) or g.models, benchmarks=tuple(benchmarks) or g.benchmarks, domains=g.domains)
ff = FailureFilters(categories=tuple(categories), flags=tuple(flags), sources=tuple(sources),
                    min_confidence=float(conf[0]), max_confidence=float(conf[1]), text=text)
rows = data.failures(url, f, ff)
total = data.failure_count(url, f, ff)
if total is None:
    st.caption(f"{len(rows)} matching failures shown (text search lists the first {FAILURE_LIST_LIMIT}).")
else:
    st.caption(f"**{total:,}** failures match" + (f"; showing the first {FAILURE_LIST_LIMIT}" if total > len(rows)
                                                    else ""))

event = st.dataframe(
    rows, hide_index=True, on_select="rerun", selection_mode="single-row", key="failures_table",
    column_config={"confidence": st.column_config.NumberColumn(format="%.2f"),
                   "question": st.column_config.TextColumn(width="large")},
)
picked = event.selection.rows if event else []
deep = st.query_params.get("response")
if picked:
    st.session_state["failures_selected"] = int(rows.iloc[picked[0]]["response_id"])
elif deep and str(deep).isdigit():
    st.session_state["failures_selected"] = int(deep)

e1, e2, _ = st.columns([1, 1, 4])
e1.download_button("Export CSV", data=lambda: data.export_failures(url, f, ff).to_csv(index=False),
                   file_name="failures.csv", mime="text/csv", key="failures_export_csv")
e2.download_button(
    "Export JSONL",
    data=lambda: "\n".join(json.dumps(r, ensure_ascii=False, default=str)
                           for r in data.export_failures(url, f, ff).to_dict(orient="records")) + "\n",
    file_name="failures.jsonl", mime="application/jsonl", key="failures_export_jsonl",
)

selected = st.session_state.get("failures_selected")
st.divider()
if selected is None:
    st.caption("Select a row to see the failure in full.")
else:
    st.query_params["response"] = str(selected)
    render_detail(url, int(selected))
