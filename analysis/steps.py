"""Split a model response into numbered steps, keeping character offsets.

Abel numbers its steps at the start of a line (`1. …`, `2. …`); other solutions write `Step 1: …`. When a
response has no such markers we fall back to non-empty lines, and a single long line to sentences. Steps are
numbered 1, 2, … in reading order (the way a teacher counts lines, and the way MR-GSM8K counts first-error
steps), whatever number the model wrote. Text before the first marker belongs to step 1; text after the last
marker (Abel's "Therefore, …" coda) belongs to the last step, so every character is in exactly one step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    number: int  # 1-based position in the response
    start: int  # character offset in the response (inclusive)
    end: int  # character offset (exclusive)
    text: str  # response[start:end], with trailing whitespace stripped


_MARKER = re.compile(r"(?m)^[ \t]*(?:\*\*)?(?:Step[ \t]*(\d{1,3})[ \t]*[:.)]|(\d{1,3})[.)](?=[ \t]|$))")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[$\d])")


def _markers(text: str) -> list[tuple[int, int]]:
    """(offset, written number) of every step marker whose numbers count up from 1 or 0 without gaps.

    Requiring the sequence guards against a line that merely starts with a number ("12. is even").
    """
    found = [(m.start(), int(m.group(1) or m.group(2))) for m in _MARKER.finditer(text)]
    kept: list[tuple[int, int]] = []
    expected: int | None = None
    for offset, number in found:
        if expected is None:
            if number in (0, 1):
                kept.append((offset, number))
                expected = number + 1
        elif number == expected:
            kept.append((offset, number))
            expected += 1
    return kept


def _spans_to_steps(text: str, starts: list[int]) -> list[Step]:
    steps: list[Step] = []
    bounds = [*starts, len(text)]
    for i in range(len(starts)):
        start = starts[i]
        end = bounds[i + 1]
        chunk = text[start:end].rstrip()
        if not chunk.strip():
            continue
        steps.append(Step(len(steps) + 1, start, start + len(chunk), chunk))
    return steps


def split_steps(text: str) -> list[Step]:
    """Steps of `text` with their offsets; `text[s.start:s.end] == s.text` for every step."""
    if not text.strip():
        return []
    markers = _markers(text)
    if len(markers) >= 2:
        starts = [offset for offset, _ in markers]
        starts[0] = 0  # preamble joins step 1
        return _spans_to_steps(text, starts)
    lines = [m.start() for m in re.finditer(r"(?m)^(?=[ \t]*\S)", text)]
    if len(lines) >= 2:
        lines[0] = 0
        return _spans_to_steps(text, lines)
    starts = [0] + [m.end() for m in _SENTENCE_END.finditer(text)]
    return _spans_to_steps(text, starts)


def step_at(steps: list[Step], offset: int) -> int | None:
    """The number of the step that holds character `offset`, or None when there are no steps."""
    if not steps:
        return None
    for step in steps:
        if offset < step.end:
            return step.number
    return steps[-1].number
