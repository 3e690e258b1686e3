"""Compare runs: two runs on the same benchmark; fixed / regressed / both wrong, McNemar's exact test."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.stats import mcnemar_exact
from dashboard import charts, data, state
from dashboard.detail import render_detail

st.title("Compare runs")
state.require_data()
url, f = state.db_url(), state.filters()
runs = data.run_summary(url, f)
runs = runs[runs["graded"] > 0]
if runs.empty:
    st.info("No graded runs yet: run `abel-triage grade`.")
    st.stop()

labels = {int(r.run_id): f"{r.model} · {r.benchmark} · run {r.run_id} ({r.accuracy:.2f}%)"
          for r in runs.itertuples(index=False)}
c1, c2 = st.columns(2)
run_a = c1.selectbox("Run A (before / smaller)", list(labels), format_func=labels.get, key="compare_run_a")
bench = runs.loc[runs["run_id"] == run_a, "benchmark"].iloc[0]
same = [r for r in labels if r != run_a and runs.loc[runs["run_id"] == r, "benchmark"].iloc[0] == bench]
if not same:
    st.info(f"No other graded run on {bench} to compare with.")
    st.stop()
run_b = c2.selectbox("Run B (after / larger)", same, format_func=labels.get, key="compare_run_b",
                     index=len(same) - 1)

pc = data.compare(url, int(run_a), int(run_b))
test = mcnemar_exact(pc.a_only, pc.b_only)
m = st.columns(5)
m[0].metric("Fixed (A wrong → B right)", f"{pc.b_only:,}")
m[1].metric("Regressed (A right → B wrong)", f"{pc.a_only:,}")
m[2].metric("Both wrong", f"{pc.both_wrong:,}")
m[3].metric("Both right", f"{pc.both_right:,}")
m[4].metric("McNemar exact p", f"{test.p_value:.3g}")
st.caption(f"{pc.total:,} problems answered in both runs. McNemar's exact test compares the discordant pairs "
           f"(fixed {pc.b_only} vs regressed {pc.a_only}).")

cats = data.run_categories(url, int(run_a), int(run_b))
if not cats.empty:
    cats = cats.assign(run=cats["run_id"].map(lambda r: "A: " + labels[int(r)] if int(r) == run_a
                                               else "B: " + labels[int(r)]))
    st.subheader("Category shift")
    st.altair_chart(charts.category_shift(cats[["category", "run", "failures"]]), key="compare_shift",
                    height=320)

st.subheader("Regressed problems")
reg = data.regressed(url, int(run_a), int(run_b))
st.caption(f"{len(reg)} shown (at most 200); select one to see B's response")
ev = st.dataframe(reg if isinstance(reg, pd.DataFrame) else pd.DataFrame(), hide_index=True, on_select="rerun",
                  selection_mode="single-row", key="compare_table")
if ev and ev.selection.rows:
    render_detail(url, int(reg.iloc[ev.selection.rows[0]]["response_id"]))
