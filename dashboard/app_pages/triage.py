"""Triage: failures that need a person, one at a time; every action is saved as a `human` label.

Each action is its own short transaction and the queue never offers an item that already has a human label,
so two people triaging at once simply skip each other's items and nothing is lost. "Rules vs people" above the
queue says how often the rule category agrees with the labels people gave (`db.agreement`), within the filters.
"""

from __future__ import annotations

import streamlit as st

from analysis.types import Category
from dashboard import data, state
from dashboard.detail import render_detail
from db.agreement import agreement_headline

st.title("Triage")
state.require_data()
url, f = state.db_url(), state.filters()
author = str(st.session_state.get("triage_author") or "").strip()
skipped: list[int] = st.session_state.setdefault("triage_skipped", [])

done, remaining = data.triage_progress(url, f)
total = done + remaining
st.progress(done / total if total else 1.0, text=f"{done:,} labelled by people · {remaining:,} waiting")

agreement = data.agreement(url, f)
if not agreement["human_labelled"]:
    st.caption("Rules vs people: no failure has a human label yet. Label some here, or import labels made elsewhere "
               "(`abel-triage labels import FILE.jsonl`), to see how often the rule categories agree with people.")
else:
    st.markdown(f"**Rules vs people** · {agreement_headline(agreement)}")
    if agreement["n"]:
        with st.expander("Per category: precision and recall of the rule category against people's labels"):
            st.dataframe(data.agreement_categories_df(agreement), hide_index=True, key="triage_agreement_table")
        with st.expander(f"Disagreements ({len(agreement['disagreements']):,})"):
            st.dataframe(data.agreement_disagreements_df(agreement), hide_index=True, key="triage_disagreements",
                         column_config={"open": st.column_config.LinkColumn("open", display_text="open")})

current = data.triage_next(url, f, tuple(skipped))
if current is None:
    st.success("Nothing needs review" + (" (some items were skipped this session)." if skipped else "."))
    if skipped and st.button("Bring back skipped items", key="triage_unskip"):
        st.session_state["triage_skipped"] = []
        st.rerun()
    st.stop()

reasons = data.triage_reasons(url, current)
st.info("Why this needs a person: " + "; ".join(reasons or ["in the queue"]))
detail = render_detail(url, current)
categories = [c.value for c in Category]
now_cat = detail.category if detail and detail.category in categories else None

with st.container(border=True):
    c1, c2 = st.columns([1, 2])
    choice = c1.selectbox("Category", categories, index=categories.index(now_cat) if now_cat else None,
                          key=f"triage_category_{current}", placeholder="Choose a category")
    note = c2.text_input("Note (optional)", key=f"triage_note_{current}")
    b1, b2, b3, b4, b5 = st.columns(5)
    actions = {
        "confirm": b1.button("Confirm " + (now_cat or "category"), key="triage_confirm", disabled=now_cat is None,
                             type="primary"),
        "change": b2.button("Save chosen category", key="triage_change", disabled=choice is None),
        "gold_suspect": b3.button("Mark gold_suspect", key="triage_gold_suspect",
                                  help="The response is right; the reference (gold) is wrong."),
        "grader_miss": b4.button("Mark grader_miss", key="triage_grader_miss",
                                 help="Equivalent to gold; only a grader failed it."),
        "skip": b5.button("Skip", key="triage_skip"),
    }
if not author and any(v for k, v in actions.items() if k != "skip"):
    st.error("Enter your name in the sidebar (Triage author) first.")
    st.stop()
category = {"confirm": now_cat, "change": choice, "gold_suspect": Category.GOLD_SUSPECT.value,
            "grader_miss": Category.GRADER_MISS.value}
for action, clicked in actions.items():
    if not clicked:
        continue
    if action == "skip":
        skipped.append(current)
    else:
        data.save_human_label(url, current, str(category[action]), author=author, note=note)
        st.toast(f"Saved {category[action]} on response {current}")
    st.rerun()
