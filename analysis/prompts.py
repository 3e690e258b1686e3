"""Prompt templates: Abel's own completion prompt (byte for byte as in its published outputs) and a chat
template for instruction-tuned models. Templates are plain data so a run can store the one it used."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from analysis.types import Problem

QUESTION_FIELD = "{question}"
COMPLETION = "completion"
CHAT = "chat"

# Abel's multiple-choice layout, as in its TAL-SCQ5K-EN outputs (`outputs/mathgpt/70b.jsonl`): the options
# follow the question, one "X. text" per line, and the text keeps its own trailing spaces.
OPTIONS_HEADER = "\nYou are provided with the following options for your answer:\n"


class UnknownTemplate(ValueError):
    """A template name that is not registered."""


class NotAnAbelPrompt(ValueError):
    """A prompt that does not have Abel's "Question:\\n...\\nAnswer:" shape."""


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    template: str  # text with one "{question}" placeholder (replaced literally, other braces are kept)
    kind: str = COMPLETION  # "completion" (one string) or "chat" (a list of messages)
    system: str | None = None  # chat only: an optional system message

    def __post_init__(self) -> None:
        if QUESTION_FIELD not in self.template:
            raise ValueError(f"prompt template {self.name!r} has no {QUESTION_FIELD} placeholder")
        if self.kind not in (COMPLETION, CHAT):
            raise ValueError(f"prompt template kind must be {COMPLETION!r} or {CHAT!r}, got {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PromptTemplate:
        return cls(
            name=str(data["name"]), template=str(data["template"]), kind=str(data.get("kind", COMPLETION)),
            system=data.get("system"),
        )


ABEL_TEMPLATE = PromptTemplate(name="abel", template="Question:\n{question}\nAnswer:\nLet's think step by step.\n")

CHAT_TEMPLATE = PromptTemplate(
    name="chat",
    template=(
        "{question}\n\nPlease reason step by step. End your response with a last line of the form "
        '"#### <answer>" (for multiple choice, the option letter).'
    ),
    kind=CHAT,
    system="You are a careful mathematician who solves problems step by step.",
)

TEMPLATES: dict[str, PromptTemplate] = {t.name: t for t in (ABEL_TEMPLATE, CHAT_TEMPLATE)}


def get_template(name: str) -> PromptTemplate:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise UnknownTemplate(
            f"unknown prompt template {name!r}; known templates: {', '.join(sorted(TEMPLATES))}"
        ) from None


def question_with_options(problem: Problem) -> str:
    """The question as the model sees it: for multiple choice, Abel's options block is appended."""
    if not problem.choices:
        return problem.question
    options = "\n".join(f"{c.letter}. {c.text}" for c in problem.choices)
    return f"{problem.question}{OPTIONS_HEADER}{options}"


def render_prompt(template: PromptTemplate, problem: Problem) -> str:
    """The template's text with the question (and options) filled in. For a chat template: the user message."""
    return template.template.replace(QUESTION_FIELD, question_with_options(problem))


def render_messages(problem: Problem, template: PromptTemplate = CHAT_TEMPLATE) -> list[dict[str, str]]:
    """OpenAI-style chat messages: the template's system message, if any, then the user message."""
    messages = [{"role": "system", "content": template.system}] if template.system else []
    messages.append({"role": "user", "content": render_prompt(template, problem)})
    return messages


_ABEL_PREFIX = "Question:\n"
_ABEL_ANSWER = "\nAnswer:"


def question_from_abel_prompt(prompt: str) -> str:
    """The text between "Question:\\n" and the last "\\nAnswer:" of an Abel prompt.

    For multiple choice the embedded options block stays part of the returned text, so rendering a problem
    made from it with `ABEL_TEMPLATE` gives back the same prompt.
    """
    end = prompt.rfind(_ABEL_ANSWER)
    if not prompt.startswith(_ABEL_PREFIX) or end < len(_ABEL_PREFIX) - 1:
        raise NotAnAbelPrompt(f"not an Abel prompt (expected 'Question:\\n...\\nAnswer:'): {prompt[:60]!r}")
    return prompt[len(_ABEL_PREFIX):end]
