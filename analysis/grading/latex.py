"""Symbolic comparison of LaTeX answers with math-verify, under a time limit that works off the main thread.

math-verify's own limits (`parse(parsing_timeout=...)`, `verify(timeout_seconds=...)`) use `signal.alarm`, which only
works in the main thread; Streamlit runs scripts in worker threads. So both are switched off (None) and the whole
parse + verify runs in a daemon worker thread that we wait on with `join(timeout)`. A comparison that overruns is
reported as a timeout; its thread cannot be killed and finishes (or not) in the background, but being a daemon it
never keeps the process alive. math-verify (and sympy) is imported on first use only.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

logger = logging.getLogger(__name__)


class SymbolicTimeout(Exception):
    """The symbolic comparison did not finish within its time limit."""


@dataclass(frozen=True)
class SymbolicResult:
    equal: bool
    detail: str  # e.g. "math-verify: (3, pi/2) == (3, pi/2)"


def as_math(text: str) -> str:
    """Wrap a bare LaTeX answer in `$...$` so math-verify's LaTeX extractor reads all of it, not just a prefix."""
    s = text.strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\[", "\\]"), ("\\(", "\\)")):
        if len(s) > len(left) + len(right) and s.startswith(left) and s.endswith(right):
            s = s[len(left) : -len(right)].strip()
            break
    return f"${s}$"


def _drop_timeout_disabled_warning(record: logging.LogRecord) -> bool:
    # math-verify warns once that its timeout is off and "you must provide the logic yourself": we do (below).
    return not str(record.msg).startswith("Timeout is disabled")


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_drop_timeout_disabled_warning)


@lru_cache(maxsize=8192)
def _parse(text: str) -> tuple[Any, ...]:
    from math_verify import parse

    # parsing_timeout=None: no signal.alarm (it fails outside the main thread); our caller enforces the limit.
    return tuple(parse(as_math(text), parsing_timeout=None))


def compare_with_math_verify(gold: str, pred: str) -> SymbolicResult:
    """Parse both sides and verify; never raises for bad input (math-verify swallows its own errors)."""
    from math_verify import verify

    gold_parsed = _parse(gold)
    if not gold_parsed:
        raise ValueError(f"math-verify could not parse the gold answer {gold!r}")
    pred_parsed = _parse(pred)
    if not pred_parsed:
        return SymbolicResult(False, f"math-verify could not parse {pred[:60]!r}")
    equal = bool(verify(list(gold_parsed), list(pred_parsed), timeout_seconds=None))
    op = "==" if equal else "!="
    return SymbolicResult(equal, f"math-verify: {_show(pred_parsed)} {op} {_show(gold_parsed)}")


def _show(parsed: tuple[Any, ...]) -> str:
    return str(parsed[0])[:60]


def symbolic_equal(gold: str, pred: str, timeout_s: float) -> SymbolicResult:
    """`compare_with_math_verify` in a worker thread; raises SymbolicTimeout after `timeout_s` seconds.

    Exceptions from the comparison itself (e.g. an unparseable gold answer) are re-raised in the caller's thread.
    """
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = compare_with_math_verify(gold, pred)
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=work, name="abel-triage-latex-verify", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        logger.warning("symbolic comparison of %r with gold %r exceeded %.3gs", pred[:80], gold[:80], timeout_s)
        raise SymbolicTimeout(f"symbolic comparison exceeded {timeout_s:g}s")
    if "error" in box:
        raise box["error"]
    return box["result"]
