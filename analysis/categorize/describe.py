"""One sentence that says what a label's evidence shows, for people: the dashboard and the GitHub issue bodies.

Evidence is structured data whose keys depend on the detector that fired (see `detectors.py`, `arith.py`,
`algebra.py`, `align.py`); this turns each known shape into plain words and falls back to `key: value` pairs, so
labels stored by older categorizer versions still read sensibly. Every value taken from the evidence (which may
hold model output) goes through `code` (quoted values: expressions, numbers) or `text` (free text: reasons), so a
caller can escape for its medium, e.g. markdown code spans and escaped text for GitHub.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Quote = Callable[[str], str]


def _plain(text: str) -> str:
    return text


def describe_evidence(
    category: str | None, evidence: Mapping[str, Any] | None, *, code: Quote = _plain, text: Quote = _plain
) -> str:
    """What went wrong, in one sentence (without the step number, which callers show themselves)."""
    ev = dict(evidence or {})

    def q(value: Any) -> str:
        return code(str(value))

    def t(value: Any) -> str:
        return text(str(value))

    sentence = _describe(category or "", ev, q, t)
    if sentence:
        return sentence
    skip = {"step", "offset", "steps"}
    pairs = [f"{t(k)}: {q(v)}" for k, v in ev.items() if k not in skip and v not in (None, "", [], {})]
    return "; ".join(pairs[:4]) if pairs else "no evidence recorded"


def _describe(  # noqa: C901 - one table of shapes
    cat: str, ev: dict[str, Any], q: Callable[[Any], str], t: Callable[[Any], str]
) -> str | None:
    if cat == "arithmetic":
        if ev.get("algebra") and ev.get("claimed") is not None:
            var = t(ev.get("variable", "x"))
            return (
                f"the equation {q(ev.get('expression'))} is rewritten as {q(ev['claimed'])}, which changes its "
                f"solution from {var} = {q(ev.get('actual'))} to {var} = {q(ev.get('written'))}"
            )
        if ev.get("expression") is not None and ev.get("claimed") is not None:
            sentence = f"{q(ev['expression'])} is written as {q(ev['claimed'])}; it is {q(ev.get('actual'))}"
            if ev.get("repaired_answer") is not None:
                sentence += f", and correcting it gives {q(ev['repaired_answer'])}, the gold answer"
            return sentence
    if cat == "missing_step":
        if ev.get("reference_intermediate"):
            return (
                f"answers {q(ev.get('answer'))}, an intermediate value of the reference solution "
                f"({q(ev['reference_intermediate'])}), not the asked quantity ({q(ev.get('gold'))})"
            )
        if ev.get("reference_last"):
            return (
                f"answers {q(ev.get('answer'))}, the reference's value before its last operation "
                f"({q(ev['reference_last'])}): the step {q(ev.get('left_out'))} is missing (gold {q(ev.get('gold'))})"
            )
        if ev.get("skipped"):
            return (
                f"skips the reference's step {q(ev['skipped'])}: {q(ev.get('expression'))} uses "
                f"{t(ev.get('used', 'another value'))}"
            )
        if ev.get("left_out") and ev.get("reference"):
            return f"{q(ev.get('expression'))} leaves out {q(ev['left_out'])} of the reference's {q(ev['reference'])}"
        if ev.get("relation"):
            return (
                f"never uses the question's {q(ev.get('left_out'))}: the answer {q(ev.get('answer'))} "
                f"is one step short ({t(ev['relation'])})"
            )
        if ev.get("intermediate_step") is not None:
            return (
                f"answers {q(ev.get('answer'))}, a value computed earlier (step {t(ev['intermediate_step'])}), "
                f"not the last one (gold {q(ev.get('gold'))})"
            )
    if cat == "misread_quantity":
        if ev.get("question_says"):
            return (
                f"uses {q(ev.get('quantity'))} in {q(ev.get('expression'))} where the question says "
                f"{q(ev['question_says'])}"
            )
        if ev.get("question_number") is not None and ev.get("quantity") is not None:
            return (
                f"uses {q(ev['quantity'])} where the question gives {q(ev['question_number'])} "
                f"({t(ev.get('how', 'a changed number'))})"
            )
        if ev.get("quantity") is not None:
            given = ", ".join(q(n) for n in ev.get("question_numbers") or [])
            tail = f" (it gives {given})" if given else ""
            return f"uses {q(ev['quantity'])}, which neither the question nor an earlier step gives{tail}"
    if cat == "unit_conversion":
        if ev.get("factor") is not None:
            relation = t(ev.get("relation", f"factor {ev['factor']}"))
            return (
                f"the answer {q(ev.get('answer'))} is off from gold {q(ev.get('gold'))} by a unit factor ({relation})"
            )
        if ev.get("stated"):
            return f"states {q(ev['stated'])}; it is {q(ev.get('correct'))}"
        if ev.get("expression") and ev.get("reason"):
            return f"{q(ev['expression'])}: {t(ev['reason'])}"
    if cat == "memorized_original":
        if ev.get("original_gold") is not None and ev.get("answer") is not None:
            return f"answers {q(ev['answer'])}, the original problem's answer (this variant's is {q(ev.get('gold'))})"
        if ev.get("quantity") is not None:
            return f"uses {q(ev['quantity'])}, a number of the original problem, not of this variant"
    if cat == "option_mapping" and ev.get("computed") is not None:
        return (
            f"computes {q(ev['computed'])}, which is option {q(str(ev.get('gold_option', '')).strip())}, "
            f"but chooses {q(ev.get('chosen'))}"
        )
    if cat == "repetition" and ev.get("repeated"):
        return f"repeats {q(str(ev['repeated']).strip()[:80])} {t(ev.get('times', 'many'))} times back to back"
    if cat == "truncated":
        return t(ev.get("cut_off") or "stopped at the length limit without a final answer")
    if cat == "grader_miss":
        verdict = "wrong" if ev.get("published_correct") is False else "right"
        regraded = t(ev.get("our_grade", ""))
        return f"the published grader marked it {verdict}; regraded {regraded}: {t(ev.get('reason', ''))}"
    if cat in ("invalid_answer", "no_final_answer") and ev.get("reason"):
        return t(ev["reason"])
    if cat == "reasoning":
        if ev.get("algebra") and ev.get("unexplained"):
            var = t(ev.get("variable", "x"))
            return (
                f"the equation {q(ev.get('expression'))} is rewritten as {q(ev.get('claimed'))} ({var} = "
                f"{q(ev.get('written'))}, not {q(ev.get('actual'))}), but correcting it does not give the gold answer "
                f"{q(ev.get('gold'))}: the set-up may be what went wrong first"
            )
        if ev.get("off_reference") and ev.get("expression") and ev.get("claimed") is not None:
            return (
                f"leaves the reference solution's path here: {q(ev['expression'])} (written {q(ev['claimed'])}) "
                f"has the true value {q(ev.get('actual'))}, which the reference never reaches either"
            )
        if ev.get("off_reference") and ev.get("expression"):
            return (
                f"leaves the reference solution's path here: {q(ev['expression'])} = {q(ev.get('value'))}, "
                "a value the reference never reaches"
            )
        if ev.get("note"):
            answer = f" (answer {q(ev.get('extracted'))}, gold {q(ev.get('gold'))})" if ev.get("gold") else ""
            return f"{t(ev['note'])}{answer}"
    return None
