"""Step splitting: Abel's numbered steps, `Step N:` solutions, line and sentence fallbacks, exact offsets."""

from __future__ import annotations

import json

from analysis.steps import split_steps, step_at
from tests.conftest import ABEL_OUTPUTS, require_path


def _check_offsets(text: str) -> None:
    steps = split_steps(text)
    for s in steps:
        assert text[s.start : s.end] == s.text
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))


def test_abel_numbered_steps_with_coda() -> None:
    text = "1. The problem states X.\n\n2. By problem, 2 + 3 = 5.\n3. [Final solution] Thus 5.\nTherefore #### 5"
    steps = split_steps(text)
    assert [s.number for s in steps] == [1, 2, 3]
    assert steps[1].text == "2. By problem, 2 + 3 = 5."
    assert steps[2].text.endswith("#### 5")  # the coda belongs to the last step
    _check_offsets(text)


def test_line_that_merely_starts_with_a_number_is_not_a_step() -> None:
    text = "1. First.\n2. Second, and the total is\n12. which is even.\n3. Third."
    steps = split_steps(text)
    assert len(steps) == 3
    assert "12. which is even." in steps[1].text


def test_step_prefix_and_fallbacks() -> None:
    assert [s.text for s in split_steps("Step 1: a = 1.\nStep 2: b = 2.")] == ["Step 1: a = 1.", "Step 2: b = 2."]
    assert len(split_steps("First line.\nSecond line.\n\nThird line.")) == 3
    sentences = split_steps("He has 5 apples. He eats 2.5 of them. So 2.5 are left.")
    assert [s.text for s in sentences] == ["He has 5 apples.", "He eats 2.5 of them.", "So 2.5 are left."]
    assert split_steps("   ") == []


def test_step_at_maps_offsets() -> None:
    text = "1. one\n2. two\n3. three"
    steps = split_steps(text)
    assert step_at(steps, 0) == 1
    assert step_at(steps, text.index("two")) == 2
    assert step_at(steps, len(text) + 5) == 3
    assert step_at([], 3) is None


def test_offsets_on_real_abel_responses() -> None:
    path = require_path(ABEL_OUTPUTS / "gsm8k" / "7b.jsonl")
    with path.open() as fh:
        records = [json.loads(line) for _, line in zip(range(200), fh, strict=False)]
    counts = []
    for rec in records:
        _check_offsets(rec["response"])
        counts.append(len(split_steps(rec["response"])))
    # Abel numbers every step: the first record has six ("1." … "6. [Final solution]").
    assert counts[0] == 6
    assert min(counts) >= 2
