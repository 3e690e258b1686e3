"""Robustness: per model, the original problem vs its perturbed variant (e.g. GSM8K vs GSM8k_robust)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.stats import wilson_interval
from dashboard import charts, data, state
from dashboard.detail import render_detail

st.title("Robustness")
state.require_data()
url, f = state.db_url(), state.filters()
st.caption("Pairs = a perturbed problem and its original, both answered and graded for the same model "
           "(any linked sets). Only the model filter applies here.")
rob = data.robustness(url, f)
if rob.empty:
    st.info("No graded original/perturbed pairs yet: import a robustness set linked to its originals "
            "(e.g. gsm8k_robust) and run `abel-triage grade`.")
    st.stop()

rates = []
for r in rob.itertuples(index=False):
    base = r.both_right + r.flipped  # right on the original
    ci = wilson_interval(r.flipped, base)
    rates.append({"model": r.model, "size_b": r.size_b, "right on original": base, "flipped": r.flipped,
                  "rate": round(100 * r.flipped / base, 2) if base else 0.0,
                  "low": round(100 * ci.low, 2), "high": round(100 * ci.high, 2),
                  "memorized_original": r.memorized_original})
rates_df = pd.DataFrame(rates)

cols = st.columns(len(rob))
for col, r, rate in zip(cols, rob.itertuples(index=False), rates, strict=True):
    with col:
        st.markdown(f"**{r.model}** ({r.pairs:,} pairs)")
        st.dataframe(
            pd.DataFrame({"perturbed right": [r.both_right, r.fixed], "perturbed wrong": [r.flipped, r.both_wrong]},
                         index=["original right", "original wrong"]),
        )
        st.metric("Flip rate", f"{rate['rate']:.2f}%", help="wrong on the perturbed variant among problems "
                  "right on the original; 95% Wilson interval below")
        st.caption(f"95% CI {rate['low']:.2f}–{rate['high']:.2f}% · memorized_original: {r.memorized_original}")

st.caption("Flip rate: of the problems a model gets right in the original, the share it gets wrong once "
           "perturbed; black lines are 95% Wilson intervals.")
st.altair_chart(charts.flip_rates(rates_df), key="robustness_chart", height=300)

st.subheader("Drill-down")
c1, c2 = st.columns(2)
model = c1.selectbox("Model", rob["model"].tolist(), key="robustness_model")
kind = c2.radio("Pairs", ["flipped", "memorized_original", "both_wrong", "fixed"], horizontal=True,
                key="robustness_kind")
pairs = data.robustness_pairs(url, str(model), str(kind))
st.caption(f"{len(pairs)} pairs shown (at most 200)")
ev = st.dataframe(pairs, hide_index=True, on_select="rerun", selection_mode="single-row", key="robustness_table")
if ev and ev.selection.rows:
    render_detail(url, int(pairs.iloc[ev.selection.rows[0]]["response_id"]))
