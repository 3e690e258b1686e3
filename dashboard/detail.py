"""Rendering one response in full: used by the Failures, Triage and Robustness pages."""

from __future__ import annotations

import logging
import re
from typing import Any

import pandas as pd
import streamlit as st

from analysis.categorize.describe import describe_evidence
from analysis.limitations import md_code
from analysis.steps import split_steps
from dashboard import data
from db.queries import LabelRow, ResponseDetail

log = logging.getLogger(__name__)

_OWN_NUMBER = re.compile(r"\s*(?:\*\*)?(?:Step\s*)?\d{1,3}[.):]")


def escape_md(text: str) -> str:
    """Show model text literally inside Streamlit markdown (no LaTeX, emphasis or HTML)."""
    out = text
    for ch in ("\\", "$", "*", "_", "`", "#", "<", ">", "[", "]", "~", "|"):
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", "  \n")


def _verdict(correct: bool | None) -> str:
    return "not graded" if correct is None else ("correct" if correct else "wrong")


def _evidence_label(d: ResponseDetail) -> LabelRow | None:
    """The label whose evidence we highlight: the newest label of the effective category, else any with a step."""
    for lab in reversed(d.labels):
        if lab.category == d.category and lab.source == d.category_source and (lab.evidence or lab.first_error_step):
            return lab
    for lab in reversed(d.labels):
        if lab.evidence.get("step") or lab.first_error_step:
            return lab
    return None


def render_steps(text: str, step: int | None, why: str | None) -> None:
    """The response split into steps, the evidence step highlighted with what its evidence shows."""
    steps = split_steps(text)
    if not steps:
        st.text(text or "(empty response)")
        return
    for s in steps:
        if step is not None and s.number == step:
            reason = f"  \n**{why}**" if why else ""
            st.error(f"**Step {s.number}** (first error){reason}  \n{escape_md(s.text)}")
        else:
            # Abel numbers its own steps; add ours only where the model did not.
            label = "" if _OWN_NUMBER.match(s.text) else f"**{s.number}.** "
            st.markdown(label + escape_md(s.text))


def evidence_sentence(category: str | None, evidence: dict[str, Any]) -> str:
    """The label's evidence in words, its values as code spans (model text stays literal)."""
    return describe_evidence(category, evidence, code=md_code, text=escape_md)


def render_detail(url: str, response_id: int, *, compact: bool = False) -> ResponseDetail | None:
    d = data.detail(url, response_id)
    if d is None:
        st.warning(f"Response {response_id} is not in this database.")
        return None
    st.subheader(f"{d.model} · {d.benchmark} · problem {d.problem_key}")
    st.caption(
        f"response {d.response_id} · category **{d.category or 'none'}**"
        + (f" ({d.category_source}, confidence {d.category_confidence:.2f})" if d.category_source else "")
        + (f" · flags: {', '.join(d.flags)}" if d.flags else "")
    )
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Question**")
        st.markdown(escape_md(d.question))
        if d.choices:
            st.markdown("  \n".join(f"**{c.get('letter')}**. {escape_md(str(c.get('text')))}" for c in d.choices))
        if d.reference_solution:
            with st.expander("Reference solution"):
                st.text(d.reference_solution)
        st.markdown("**Response**")
        lab = _evidence_label(d)
        step = None
        why = None
        if lab is not None:
            why = evidence_sentence(lab.category, lab.evidence)
            raw = lab.evidence.get("step", lab.first_error_step)
            step = int(raw) if isinstance(raw, int | str) and str(raw).isdigit() else None
            if step is None:  # output-level evidence (no answer, two options, ...): no step to highlight
                st.info(f"**{lab.category}**: {why}")
        render_steps(d.text, step, why)
    with right:
        a, b = st.columns(2)
        a.metric("Extracted", d.extracted if d.extracted is not None else "—")
        b.metric("Gold", d.reference_answer)
        st.caption(
            f"regrade: {_verdict(d.correct)}" + (f" ({d.grade_reason})" if d.grade_reason else "")
            + f" · published: {_verdict(d.published_correct)}"
            + (f", extracted {d.published_extracted!r}" if d.published_extracted is not None else "")
            + (f" · finish: {d.finish_reason}" if d.finish_reason else "")
        )
        st.markdown("**Labels**")
        if d.labels:
            st.dataframe(
                pd.DataFrame(
                    [{"category": lab.category, "source": lab.source, "confidence": lab.confidence,
                      "step": lab.evidence.get("step", lab.first_error_step),
                      "evidence": describe_evidence(lab.category, lab.evidence), "author": lab.author,
                      "note": lab.note, "time": lab.created_at, "version": lab.categorizer_version}
                     for lab in d.labels]
                ),
                hide_index=True,
            )
        else:
            st.caption("no labels yet (run `abel-triage categorize`)")
    if compact:
        return d
    others = data.same_problem(url, d.problem_id, d.response_id)
    if not others.empty:
        st.markdown("**The same problem, other models**")
        cols = st.columns(min(4, len(others)))
        for col, row in zip(cols, others.head(4).itertuples(index=False), strict=False):
            with col:
                st.markdown(f"**{row.model}**: {_verdict(row.correct)}, answer `{row.extracted}`"
                            + (f", {row.category}" if row.category else ""))
                with st.expander("response"):
                    st.text(row.text)
    if d.original_id is not None:
        orig = data.original(url, d.problem_id, d.model_id)
        if orig is not None:
            st.markdown("**Perturbed problem and its original**")
            c1, c2 = st.columns(2)
            with c1:
                st.markdown(f"*Original* ({orig.benchmark} {orig.problem_key}), gold **{orig.reference_answer}**")
                st.markdown(escape_md(orig.question))
                st.markdown(f"{d.model}: {_verdict(orig.correct)}, answer `{orig.extracted}`"
                            if orig.response_id else f"{d.model} has no response to the original.")
            with c2:
                st.markdown(f"*Perturbed* ({d.benchmark} {d.problem_key}), gold **{d.reference_answer}**")
                st.markdown(escape_md(d.question))
                st.markdown(f"{d.model}: {_verdict(d.correct)}, answer `{d.extracted}`")
    return d
