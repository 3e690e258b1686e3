"""An optional model-based judge that confirms or refines the rule categorizer's `reasoning` fallback.

The rule path never needs it. A judge is anything with `judge(inp, rule) -> JudgeVerdict | None`; one that can
also take a batch has `judge_many([(inp, rule), ...]) -> [JudgeVerdict | None, ...]`, and `judge_batch` uses it
when it is there (a vLLM engine is only busy when it gets many prompts at once). The judge here (`PromptJudge`)
fills `judge_prompt.md` and asks a prompt -> text callable, or a prompts -> texts one (`complete_many`);
`engine_judge` builds it over any engine of `analysis.engines`. Unparseable answers give None: a judge that
cannot be read is not a label.

The template's placeholders are `{name}`; `{#name}...{/name}` keeps its text only when `name` has a value (the
reference solution, the options, the original problem of a perturbed variant). Nothing else in the template or
in the values is interpreted, so LaTeX braces pass through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from analysis.categorize import CategoryResult, FailureInput, split_steps
from analysis.categorize.describe import describe_evidence
from analysis.engines.base import Engine, Prompt, SamplingSettings
from analysis.types import Category, Choice

PROMPT_PATH = Path(__file__).with_name("judge_prompt.md")
# Categories a judge may give: what a reader can tell from the text (output-level ones are the rules' job).
JUDGE_CATEGORIES: frozenset[Category] = frozenset({
    Category.ARITHMETIC, Category.MISREAD_QUANTITY, Category.UNIT_CONVERSION, Category.MISSING_STEP,
    Category.MEMORIZED_ORIGINAL, Category.OPTION_MAPPING, Category.REASONING, Category.GOLD_SUSPECT,
})
_MAX_RESPONSE_CHARS = 6000
_MAX_REFERENCE_CHARS = 3000
_NO_REFERENCE = frozenset({"", "n/a", "na", "none", "null"})

Item = tuple[FailureInput, CategoryResult]


@dataclass(frozen=True)
class JudgeVerdict:
    category: Category
    confidence: float
    rationale: str
    step: int | None = None  # the response's step (`analysis.steps` numbering) of the first error, if named


class Judge(Protocol):
    def __call__(self, inp: FailureInput, rule: CategoryResult) -> JudgeVerdict | None: ...


class BatchJudge(Judge, Protocol):
    def judge_many(self, items: Sequence[Item]) -> list[JudgeVerdict | None]: ...


def judge_batch(judge: Judge, items: Sequence[Item]) -> list[JudgeVerdict | None]:
    """Verdicts for `items` in order: one `judge_many` call when the judge takes batches, else one call each."""
    many = getattr(judge, "judge_many", None)
    if many is None:
        return [judge(inp, rule) for inp, rule in items]
    verdicts = list(many(items))
    if len(verdicts) != len(items):
        raise ValueError(f"judge returned {len(verdicts)} verdicts for {len(items)} items")
    return verdicts


# -- the prompt -------------------------------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _reference(text: str | None) -> str:
    text = (text or "").strip()
    return "" if text.lower() in _NO_REFERENCE else _cut(text, _MAX_REFERENCE_CHARS)


def numbered_response(response: str, limit: int = _MAX_RESPONSE_CHARS) -> str:
    """The response as `[n] step text` lines, numbered like `analysis.steps` (the numbers STEP answers refer to)."""
    steps = split_steps(response)
    if not steps:
        return "(empty response)"
    lines: list[str] = []
    used = 0
    for step in steps:
        text = step.text.strip()
        if used + len(text) > limit:
            lines.append(f"[{step.number}] {text[: max(0, limit - used)]}…")
            if step.number < len(steps):
                lines.append(f"(the last {len(steps) - step.number} steps are cut)")
            break
        lines.append(f"[{step.number}] {text}")
        used += len(text)
    return "\n".join(lines)


def _with_option_text(value: str, choices: Sequence[Choice]) -> str:
    """A set of option letters with their options' text ("C ($$40$$)"); any other value as it is."""
    value = value.strip()
    texts = {c.letter.strip().upper(): c.text.strip() for c in choices}
    letters = [p.upper() for p in re.split(r"[,\s]+", value) if p]
    if texts and letters and all(letter in texts for letter in letters):
        return f"{value} ({'; '.join(texts[letter] for letter in letters)})"
    return value


def _rule_note(rule: CategoryResult) -> str:
    category = rule.category.value if rule.category else None
    note = describe_evidence(category, rule.evidence)
    return f"{note} (step {rule.first_error_step})" if rule.first_error_step is not None else note


def prompt_values(inp: FailureInput, rule: CategoryResult) -> dict[str, str]:
    """The placeholder values of the judge template for one failure (an empty value drops its `{#name}` section)."""
    return {
        "question": inp.question,
        "gold": _with_option_text(inp.gold, inp.choices),
        "choices": "\n".join(f"{c.letter}. {c.text.strip()}" for c in inp.choices),
        "reference_solution": _reference(inp.reference_solution),
        "original_question": (inp.original_question or "").strip(),
        "original_gold": (inp.original_gold or "").strip() or "(not given)",
        "original_reference_solution": _reference(inp.original_reference_solution),
        "response": numbered_response(inp.response),
        "answer": _with_option_text(inp.extracted or "", inp.choices),
        "rule_category": rule.category.value if rule.category else "none",
        "rule_evidence": json.dumps(rule.evidence, ensure_ascii=False, default=str)[:300],
        "rule_note": _cut(_rule_note(rule), 400),
    }


_SECTION = re.compile(r"\{#(\w+)\}\n?(.*?)\{/\1\}\n?", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill_template(template: str, values: dict[str, str]) -> str:
    """Keep or drop the `{#name}...{/name}` sections, then replace `{name}` placeholders in one pass (values are
    never scanned again, and unknown `{words}` stay as they are)."""

    def section(m: re.Match[str]) -> str:
        return _SECTION.sub(section, m.group(2)) if values.get(m.group(1)) else ""

    kept = _SECTION.sub(section, template)
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), kept)


def build_prompt(inp: FailureInput, rule: CategoryResult, template: str | None = None) -> str:
    template = template if template is not None else PROMPT_PATH.read_text(encoding="utf-8")
    return fill_template(template, prompt_values(inp, rule))


# -- the answer ---------------------------------------------------------------------------------------------------

# A field line: "CATEGORY: x", also "**CATEGORY:** x", "- Category: x" (the last one of each field wins, so notes
# written before the verdict lines do not count).
_LINE = re.compile(r"(?im)^[\s>*_#-]*(CATEGORY|CONFIDENCE|RATIONALE|STEP)[*_]*\s*:[*_]*\s*(.*?)\s*$")
# A step number: "3", "[3]", "Step 3.", "3 (where ...)"; not the start of a calculation ("5 * 4 = 20").
_STEP = re.compile(r"(?i)^(?:step|line)?\s*[\[#(]?\s*(\d{1,3})(?!\s*[-+*/×÷^=.:]?\s*\d)")
_NO_STEP = re.compile(r"(?i)^(none|n/?a|no\b|-|—|null|unknown|not applicable)")
_BY_LENGTH = sorted(JUDGE_CATEGORIES | set(Category), key=lambda c: -len(c.value))


def _category(value: str) -> Category | None:
    name = re.sub(r"[\s-]+", "_", value.strip().strip("`*_.'\"[]").strip().lower())
    return next((c for c in _BY_LENGTH if name.startswith(c.value)), None)


def _step(value: str | None) -> int | None:
    value = (value or "").strip().strip("`*_").strip()
    if not value or _NO_STEP.match(value):
        return None
    m = _STEP.match(value)
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def _confidence(value: str | None) -> float:
    value = (value or "").strip().strip("`*_").rstrip(".")
    try:
        number = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        return 0.5
    return min(1.0, max(0.0, number))


def parse_verdict(text: str) -> JudgeVerdict | None:
    """Read the CATEGORY / STEP / CONFIDENCE / RATIONALE lines; None without a category a judge may give."""
    fields = {m.group(1).upper(): m.group(2) for m in _LINE.finditer(text or "")}
    category = _category(fields.get("CATEGORY", ""))
    if category is None or category not in JUDGE_CATEGORIES:
        return None
    return JudgeVerdict(category, _confidence(fields.get("CONFIDENCE", "0.5")), fields.get("RATIONALE", "").strip(),
                        _step(fields.get("STEP")))


# -- judges ---------------------------------------------------------------------------------------------------------


class PromptJudge:
    """A judge over a prompt -> text callable (`complete`) or a prompts -> texts one (`complete_many`, one call per
    batch). A STEP beyond the response's last step is dropped (the verdict stays)."""

    def __init__(
        self,
        complete: Callable[[str], str] | None = None,
        template: str | None = None,
        *,
        complete_many: Callable[[list[str]], Sequence[str]] | None = None,
    ) -> None:
        if (complete is None) == (complete_many is None):
            raise ValueError("give exactly one of complete and complete_many")
        self._complete = complete
        self._complete_many = complete_many
        self._template = template

    @property
    def template(self) -> str:
        if self._template is None:
            self._template = PROMPT_PATH.read_text(encoding="utf-8")
        return self._template

    def judge_many(self, items: Sequence[Item]) -> list[JudgeVerdict | None]:
        if not items:
            return []
        prompts = [build_prompt(inp, rule, self.template) for inp, rule in items]
        if self._complete_many is not None:
            texts = list(self._complete_many(prompts))
        else:
            assert self._complete is not None
            texts = [self._complete(p) for p in prompts]
        if len(texts) != len(prompts):
            raise ValueError(f"the model answered {len(texts)} of {len(prompts)} prompts")
        return [_checked(parse_verdict(text), inp) for text, (inp, _) in zip(texts, items, strict=True)]

    def __call__(self, inp: FailureInput, rule: CategoryResult) -> JudgeVerdict | None:
        return self.judge_many([(inp, rule)])[0]


def _checked(verdict: JudgeVerdict | None, inp: FailureInput) -> JudgeVerdict | None:
    if verdict is None or verdict.step is None or verdict.step <= len(split_steps(inp.response)):
        return verdict
    return JudgeVerdict(verdict.category, verdict.confidence, verdict.rationale, None)


def engine_completer(engine: Engine, settings: SamplingSettings, *, chat: bool = True
                     ) -> Callable[[list[str]], list[str]]:
    """prompts -> texts over an engine, one `engine.generate` call per batch (vLLM runs it as one batch; the OpenAI
    engine splits it into requests of `prompts_per_request` prompts, `concurrency` at a time, and sends chat
    prompts one per request). `chat` sends each prompt as one user message, so the model's chat template applies."""

    def complete_many(prompts: list[str]) -> list[str]:
        batch: list[Prompt] = [[{"role": "user", "content": p}] for p in prompts] if chat else list(prompts)
        return [samples[0].text if samples else "" for samples in engine.generate(batch, settings)]

    return complete_many


def engine_judge(engine: Engine, settings: SamplingSettings, *, chat: bool = True,
                 template: str | None = None) -> PromptJudge:
    """A batched `PromptJudge` over an engine (see `engine_completer`)."""
    return PromptJudge(complete_many=engine_completer(engine, settings, chat=chat), template=template)


def verdict_json(verdict: JudgeVerdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {"category": verdict.category.value, "step": verdict.step, "confidence": verdict.confidence,
            "rationale": verdict.rationale}
