"""Multiple choice: options embedded in a prompt, and the set of option letters an answer names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from analysis.types import Choice

OPTIONS_MARKER = "You are provided with the following options for your answer:"
_OPTION_LINE = re.compile(r"^\s*\(?([A-Z])[.):]\s?(.*)$")


def split_embedded_choices(question: str) -> tuple[str, tuple[Choice, ...]]:
    """Split a TAL-SCQ5K-EN style question into its stem and its options.

    The options follow the line `You are provided with the following options for your answer:`, one per line as
    `A. text`; a line that does not start a new option continues the previous one. Without the marker the question
    is returned unchanged with no choices.
    """
    cut = question.find(OPTIONS_MARKER)
    if cut < 0:
        return question, ()
    stem = question[:cut].rstrip()
    letters: list[str] = []
    texts: list[list[str]] = []
    for line in question[cut + len(OPTIONS_MARKER) :].splitlines():
        m = _OPTION_LINE.match(line)
        if m and (not letters or m.group(1) not in letters):
            letters.append(m.group(1))
            texts.append([m.group(2).strip()])
        elif texts and line.strip():
            texts[-1].append(line.strip())
    choices = tuple(Choice(letter, "\n".join(parts)) for letter, parts in zip(letters, texts, strict=True))
    return stem, choices


@dataclass(frozen=True)
class LetterParse:
    """The option letters an answer names (upper case, in order, without repeats), or why there are none."""

    letters: tuple[str, ...]
    notes: tuple[str, ...] = ()
    problem: str | None = None


_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf|boxed)\s*\{([^{}]*)\}")
_PREFIX = re.compile(
    r"^(?:(?:so\s+|thus\s+|therefore\s+)?(?:the\s+|our\s+)?(?:correct\s+|final\s+)?"
    r"(?:answer|options?|choices?|selection)(?:\s+(?:is|are))?\s*[:=]?\s*)",
    re.IGNORECASE,
)
_LETTER = r"\(?[A-Za-z]\)?\.?"
_SEPARATOR = r"(?:\s*(?:,|;|/|&|\+|\band\b|\bor\b)\s*|\s+)(?:(?:options?|choices?)\s+)?"
_LETTER_LIST = re.compile(rf"^{_LETTER}(?:{_SEPARATOR}{_LETTER})*\.?$", re.IGNORECASE)
_LETTER_TOKEN = re.compile(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])")
_LETTER_THEN_TEXT = re.compile(r"^\(?([A-Z])(?:\)|\.|:|\s*-)\s+\S")


def parse_choice_letters(text: str) -> LetterParse:
    """Read "A", "(B)", "A,B", "A and B", "option C", "C. 25" as a set of option letters.

    Only a whole answer of letters (with separators and the words option/choice/answer) counts, or a single upper-case
    letter followed by its option text; "None of the above" names no option.
    """
    notes: list[str] = []
    s = text.strip().replace("$", "")
    if "\\" in s:
        s = _WRAPPERS.sub(r"\1", s)
    s = s.strip().strip("*").strip()
    for _ in range(2):  # "the answer is option C": two prefixes
        prefix = _PREFIX.match(s)
        if prefix is None or prefix.end() >= len(s):
            break
        s = s[prefix.end() :]
    if _LETTER_LIST.match(s):
        letters = tuple(dict.fromkeys(t.upper() for t in _LETTER_TOKEN.findall(s)))
        return LetterParse(letters, tuple(notes))
    m = _LETTER_THEN_TEXT.match(s)
    if m:
        notes.append("option text after the letter ignored")
        return LetterParse((m.group(1),), tuple(notes))
    return LetterParse((), tuple(notes), problem=f"no option letter in {text.strip()[:60]!r}")
