"""Finding the final answer in a response, following the format the model was prompted for.

Abel ends with `#### <answer>`: the answer is the text after the *last* `####` (a missing space is fine), up to the
end of that line; text on later lines is something else the model went on to write. Other models (MATH-style prompts)
put it in the last `\\boxed{...}`, which is brace-matched so `\\boxed{\\frac{1}{2}}` gives `\\frac{1}{2}`.

We never search the whole text for "answer" or `$...$`: a response without the marker has no final answer.
"""

from __future__ import annotations

from dataclasses import dataclass

HASH_MARK = "####"
_BOXED_MARKERS = ("\\boxed", "\\fbox")


@dataclass(frozen=True)
class Extraction:
    """The answer text (None when absent) and how it was found, e.g. "no space after ####"."""

    answer: str | None
    source: str  # "####", "\\boxed", or "" when nothing was found
    notes: tuple[str, ...] = ()
    missing: str = ""  # why there is no answer, when `answer` is None


def extract_answer(response: str) -> str | None:
    """Abel's format: the text after the last `####` (space optional), None when absent or empty."""
    return extract_hash_answer(response).answer


def extract_hash_answer(response: str) -> Extraction:
    cut = response.rfind(HASH_MARK)
    if cut < 0:
        return Extraction(None, "", missing="no '####' in the response")
    tail = response[cut + len(HASH_MARK) :]
    notes: tuple[str, ...] = ()
    if tail[:1] not in (" ", "\t", "\n", "\r", ""):
        notes = ("no space after ####",)
    body = tail.strip()
    if not body:
        return Extraction(None, HASH_MARK, notes, missing="nothing after the last '####'")
    line, newline, _ = body.partition("\n")
    answer = line.strip()
    if newline:
        notes = (*notes, "text after the answer's line ignored")
    return Extraction(answer, HASH_MARK, notes)


def extract_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` (brace-matched) or `\\boxed x`, None when absent or unbalanced."""
    start = max(text.rfind(marker) for marker in _BOXED_MARKERS)
    if start < 0:
        return None
    i = start + len("\\boxed") if text.startswith("\\boxed", start) else start + len("\\fbox")
    n = len(text)
    while i < n and text[i] == " ":
        i += 1
    if i >= n:
        return None
    if text[i] != "{":
        # `\boxed 5`: the argument is the next token.
        end = i
        while end < n and not text[end].isspace() and text[end] not in "$":
            end += 1
        return text[i:end] or None
    depth = 0
    for j in range(i, n):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                content = text[i + 1 : j].strip()
                return content or None
    return None


def extract_latex_answer(response: str) -> Extraction:
    """For LaTeX answers: the last `####` if there is one, else the last `\\boxed{...}`."""
    found = extract_hash_answer(response)
    if found.answer is not None:
        return found
    boxed = extract_boxed(response)
    if boxed is None:
        if found.source:
            return found
        return Extraction(None, "", missing="no '####' and no \\boxed{} in the response")
    return Extraction(boxed, "\\boxed", ("answer taken from the last \\boxed{}",))
