"""What the response would have answered had its wrong calculations been right.

A teacher who finds a slip asks whether it explains the wrong answer: correct `5 * 459 = 2315` to 2295, carry
2295 into the next line (`2295 / 255 = 9`), and the response ends at the gold answer. When that happens the slip
is the whole story, whatever path the response took to get there: adding per-item totals instead of a per-room
total first is a valid detour, not a wrong plan, when the only thing between it and the gold answer is
`160 + 80 + 320 + 640 = 1100`.

`repair` walks the written calculations in reading order. A wrong one records its claimed value -> its true
value; a later calculation that uses a recorded value is re-evaluated with the true one, and if its result then
changes, that change is recorded too. The final answer is looked up at the end. Only the values the response
itself wrote are carried; a corrected value that the text uses without writing a calculation ("so she has 57
skeins") reaches the answer through the same lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from analysis.categorize.arith import Calculation, format_number


@dataclass(frozen=True)
class Repair:
    start: int  # offset of the first correction: the first wrong calculation, or the equation slip given as seed
    slip: Calculation | None  # the first wrong calculation (None when the first correction is a seed)
    answer: Fraction  # the final answer once every slip is corrected and carried forward
    carried: tuple[tuple[Fraction, Fraction], ...]  # (written, corrected) for each value that changed, in order

    def evidence(self) -> dict[str, str]:
        chain = " -> ".join(f"{format_number(w)}→{format_number(c)}" for w, c in self.carried)
        return {"repaired_answer": format_number(self.answer), "carried": chain}


def _close(a: Fraction, b: Fraction) -> bool:
    """Equal, or equal to the rounding a response writes ("47.98" for 48 after a rounded divisor)."""
    return a == b or abs(a - b) <= max(Fraction(1, 200), abs(b) * Fraction(1, 1000))


def repair(calculations: list[Calculation], answer: Fraction | None,
           seed: tuple[int, Fraction, Fraction] | None = None) -> Repair | None:
    """Correct every wrong calculation and carry the corrections forward; None when nothing is wrong, a slip is
    a unit error rather than an arithmetic one, or the corrections do not reach the final answer. `seed` is a
    first correction found another way, as (offset, written value, true value): an equation solved wrong
    ("x = 100" where the equation gives 150), carried into the calculations after `offset`."""
    if answer is None:
        return None
    corrected: dict[Fraction, Fraction] = {}
    carried: list[tuple[Fraction, Fraction]] = []
    kept: set[Fraction] = set()  # values an unaffected calculation gives: the same number may mean either
    slip: Calculation | None = None
    start: int | None = None
    for calc in calculations:
        if seed is not None and start is None and calc.start > seed[0]:
            start = seed[0]
            corrected[seed[1]] = seed[2]
            carried.append((seed[1], seed[2]))
        if calc.mixed_units:
            if not calc.correct:
                return None
            continue
        uses_corrected = any(v in corrected for v, _ in calc.operands)
        value = calc.with_operands(corrected, frozenset(kept)) if uses_corrected else calc.actual
        if value is None:
            continue
        if not calc.correct and slip is None:
            slip = calc
            start = calc.start if start is None else start
        if start is None or calc.claimed_value in corrected:
            kept.add(calc.claimed_value)
            continue
        if not calc.correct or (uses_corrected and not _close(value, calc.claimed_value)):
            corrected[calc.claimed_value] = value
            carried.append((calc.claimed_value, value))
        else:
            kept.add(calc.claimed_value)
    if seed is not None and start is None:  # nothing is calculated after the equation: the answer is its solution
        start = seed[0]
        corrected.setdefault(seed[1], seed[2])
        carried.append((seed[1], seed[2]))
    if start is None:
        return None
    written = _written_as(answer, corrected)
    if written is None:
        return None
    return Repair(start, slip, corrected[written], tuple(carried))


def _written_as(answer: Fraction, corrected: dict[Fraction, Fraction]) -> Fraction | None:
    """The corrected value the final answer states: itself, or rounded to a whole number (167 batches for
    166.67, 166 when rounding down)."""
    if answer in corrected:
        return answer
    if answer.denominator == 1:
        return next((v for v in corrected if v.denominator != 1 and abs(v - answer) < 1), None)
    return None


def repair_reaches(calculations: list[Calculation], answer: Fraction | None, gold: Fraction | None,
                   seed: tuple[int, Fraction, Fraction] | None = None) -> Repair | None:
    """The repair when correcting the response's slips turns its final answer into the gold answer, else None."""
    if gold is None:
        return None
    fixed = repair(calculations, answer, seed)
    return fixed if fixed is not None and _close(fixed.answer, gold) else None


__all__ = ["Repair", "repair", "repair_reaches"]
