"""Answer extraction and grading: the golden table of real cases, the number rules, multiple choice, LaTeX with a
timeout in a worker thread, a regrade of Abel's 9,914 published responses, and `abel-triage grade-file`."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import analysis.grading.latex as latex_module
from analysis.grading import (
    GRADER_VERSION,
    extract_answer,
    extract_boxed,
    grade_response,
    parse_number,
    read_number,
    split_embedded_choices,
)
from analysis.grading.abel import grade_abel_record
from analysis.types import AnswerType, Choice, Grade, GradeStatus
from tests.conftest import REPO_ROOT

GOLDEN_PATH = Path(__file__).parent / "data" / "grading_golden.jsonl"
GOLDEN: list[dict[str, Any]] = [json.loads(line) for line in GOLDEN_PATH.read_text(encoding="utf-8").splitlines()]


def _grade_row(row: dict[str, Any], **kwargs: Any) -> Grade:
    return grade_response(
        row["response"],
        row["gold"],
        answer_type=row["answer_type"],
        choices=row.get("choices"),
        multiple_answers=row.get("multiple_answers", False),
        **kwargs,
    )


# --- the golden table -------------------------------------------------------------------------------------------


def test_golden_table_is_well_formed() -> None:
    ids = [row["id"] for row in GOLDEN]
    assert len(ids) == len(set(ids)), "golden ids must be unique"
    for row in GOLDEN:
        assert {"id", "response", "gold", "answer_type", "expected_status", "expected_extracted", "why"} <= row.keys()
        GradeStatus(row["expected_status"])
        AnswerType(row["answer_type"])
    # The four quirks of abel-outputs/MANIFEST.md and every answer type are in the table.
    assert sum(row["id"].startswith("quirk-") for row in GOLDEN) == 4
    assert {row["answer_type"] for row in GOLDEN} == {t.value for t in AnswerType}
    assert {row["expected_status"] for row in GOLDEN} >= {"correct", "incorrect", "invalid", "no_answer"}


@pytest.mark.parametrize("row", GOLDEN, ids=[row["id"] for row in GOLDEN])
def test_golden_case(row: dict[str, Any]) -> None:
    grade = _grade_row(row)
    assert grade.status == GradeStatus(row["expected_status"]), f"{row['why']} -- reason: {grade.reason}"
    assert grade.extracted == row["expected_extracted"]
    assert grade.gold == row["gold"]
    assert grade.reason, "every verdict explains itself"
    if "reason_contains" in row:
        assert row["reason_contains"] in grade.reason


def test_grade_is_data_with_a_version() -> None:
    assert isinstance(GRADER_VERSION, str) and GRADER_VERSION
    grade = grade_response("#### 18", "18")
    assert grade.correct and grade.status is GradeStatus.CORRECT
    assert not grade_response("#### A,B", "A", answer_type="choice", choices=("A", "B")).correct


def test_unknown_answer_type_is_a_caller_error() -> None:
    with pytest.raises(ValueError):
        grade_response("#### 1", "1", answer_type="numbr")


# --- extraction -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("... so 18 eggs. #### 18", "18"),
        ("####5 ", "5"),  # no space
        ("#### 12\nthen #### 15", "15"),  # the last marker
        ("#### 18\nQuestion: next one has 5", "18"),  # only the marker's line
        ("The answer is 18.", None),  # never searched for "answer"
        ("The answer is $18$.", None),  # nor for $...$
        ("#### ", None),
        ("", None),
        ("##### 7", "7"),
    ],
)
def test_extract_answer(response: str, expected: str | None) -> None:
    assert extract_answer(response) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so $\\boxed{\\frac{1}{2}}$", "\\frac{1}{2}"),
        ("\\boxed{1} and then \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("\\boxed 5 apples", "5"),
        ("\\boxed{unbalanced", None),
        ("no box", None),
    ],
)
def test_extract_boxed_is_brace_matched(text: str, expected: str | None) -> None:
    assert extract_boxed(text) == expected


# --- numbers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18", Fraction(18)),
        ("55.50", Fraction(111, 2)),
        ("10.", Fraction(10)),
        ("3/4", Fraction(3, 4)),
        ("-38,000", Fraction(-38000)),
        ("-$38,000", Fraction(-38000)),
        ("1,750,000", Fraction(1750000)),
        ("$1,200.50", Fraction(2401, 2)),
        ("\\$18", Fraction(18)),
        ("40%", Fraction(40)),
        ("85.6\\%", Fraction(428, 5)),
        ("5 days", Fraction(5)),
        ("10 \\text{ dollars}", Fraction(10)),
        ("$10/hour", Fraction(10)),
        ("3 cm^2", Fraction(3)),
        ("90^\\circ", Fraction(90)),
        ("\\frac{14}{3}", Fraction(14, 3)),
        ("\\dfrac12", Fraction(1, 2)),
        ("7 \\frac{32}{60}", Fraction(113, 15)),
        ("1.5 \\times 10^{6}", Fraction(1500000)),
        (".5", Fraction(1, 2)),
        ("\u22124", Fraction(-4)),  # unicode minus
        ("**18**", Fraction(18)),
        # not one number, by decision:
        ("1,2", None),
        ("125,96", None),
        ("5 and 6", None),
        ("1 200", None),
        ("62 + 3x", None),
        ("12:00", None),
        ("x = 5", None),
        ("infinite", None),
        ("2/0", None),
        ("", None),
        # regression: bad output must stay cheap (10**999999999 used to hang; int() refuses > 4,300 digits)
        ("1e999999999", None),
        ("9" * 5000, None),
    ],
)
def test_parse_number(text: str, expected: Fraction | None) -> None:
    assert parse_number(text) == expected


def test_lists_are_flagged_as_several_numbers() -> None:
    assert read_number("5 and 6").several and read_number("1,2").several
    assert not read_number("62 + 3x").several  # an expression is one wrong answer, not two answers


# --- multiple choice --------------------------------------------------------------------------------------------

# The prompt text of abel-outputs/mathgpt/70b.jsonl id 1363 (the two-option quirk), as Abel saw it.
BURGERS = (
    "Which of the following will increase the demand for burgers, a normal good? \n"
    "You are provided with the following options for your answer:\n"
    "A. An increase in consumers\\textquotesingle{} income \n"
    "B. A decrease in the price of burgers \n"
    "C. An increase in the cost of beef used in producing burgers \n"
    "D. An increase in the number of restaurants selling burgers \n"
    "E. An increase in the price of a complementary product \n"
)


def test_split_embedded_choices() -> None:
    stem, choices = split_embedded_choices(BURGERS)
    assert stem == "Which of the following will increase the demand for burgers, a normal good?"
    assert [c.letter for c in choices] == list("ABCDE")
    assert choices[1] == Choice("B", "A decrease in the price of burgers")


def test_split_embedded_choices_continuation_and_absent_marker() -> None:
    text = "Pick one.\nYou are provided with the following options for your answer:\nA. $1$\nB. two\nlines\n"
    _, choices = split_embedded_choices(text)
    assert choices == (Choice("A", "$1$"), Choice("B", "two\nlines"))
    assert split_embedded_choices("What is 2+2?") == ("What is 2+2?", ())


def test_single_choice_never_accepts_two_letters_even_with_gold_among_them() -> None:
    for answer in ("A,B", "A and B", "(A) (B)", "option A or B"):
        grade = grade_response(f"#### {answer}", "A", answer_type="choice", choices=tuple("ABCDE"))
        assert grade.status is GradeStatus.INVALID, answer
        assert "single-choice" in grade.reason


def test_choice_without_a_choice_list_accepts_any_letter() -> None:
    assert grade_response("#### (E)", "E", answer_type=AnswerType.CHOICE).correct
    assert grade_response("#### Z", "E", answer_type=AnswerType.CHOICE).status is GradeStatus.INCORRECT


# --- LaTeX and the time limit -----------------------------------------------------------------------------------


def _in_worker_thread(fn: Any) -> Any:
    """Run fn in a non-main thread (as Streamlit does) and return its result."""
    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.update(result=fn()))
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return box["result"]


def test_latex_grading_works_off_the_main_thread() -> None:
    # With math-verify's own signal.alarm timeouts this would fail outside the main thread.
    grade = _in_worker_thread(
        lambda: grade_response("$\\boxed{(3,\\frac{\\pi}{2})}$", "\\left( 3, \\frac{\\pi}{2} \\right)",
                               answer_type="latex")
    )
    assert grade.status is GradeStatus.CORRECT, grade.reason
    assert "math-verify" in grade.reason


def test_latex_timeout_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def stuck(gold: str, pred: str) -> latex_module.SymbolicResult:
        release.wait(10)  # a pathological comparison that would run for 10 s
        return latex_module.SymbolicResult(True, "too late")

    monkeypatch.setattr(latex_module, "compare_with_math_verify", stuck)
    started = time.perf_counter()
    grade = _in_worker_thread(
        lambda: grade_response("#### x^{x^{x^{x}}}", "y", answer_type="latex", timeout_s=0.05)
    )
    elapsed = time.perf_counter() - started
    release.set()
    assert grade.status is GradeStatus.TIMEOUT
    assert grade.extracted == "x^{x^{x^{x}}}"
    assert "exceeded 0.05s" in grade.reason
    assert elapsed < 2.0


def test_plain_numbers_in_latex_mode_skip_the_symbolic_checker(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []

    def fake(gold: str, pred: str) -> latex_module.SymbolicResult:
        calls.append((gold, pred))
        return latex_module.SymbolicResult(False, "fake checker")

    monkeypatch.setattr(latex_module, "compare_with_math_verify", fake)
    assert grade_response("#### 0.75", "\\frac{3}{4}", answer_type="latex").correct
    assert calls == []
    # "5x" is an expression in LaTeX, not "5 with a unit": it must reach the symbolic checker.
    grade = grade_response("#### 5x", "5", answer_type="latex")
    assert calls == [("5", "5x")]
    assert grade.status is GradeStatus.INCORRECT and grade.reason == "fake checker"


# --- bad output never raises ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    response=st.text(alphabet=st.sampled_from(list("0123456789.,-+/$%#ABC abc\\{}()^:\n")), max_size=40),
    answer_type=st.sampled_from(["number", "choice", "text"]),
)
def test_bad_output_never_raises(response: str, answer_type: str) -> None:
    grade = grade_response(response, "12", answer_type=answer_type, choices=("A", "B", "C"))
    assert isinstance(grade.status, GradeStatus)
    assert not grade.reason.startswith("grader error"), grade.reason


# --- Abel's published responses ---------------------------------------------------------------------------------

PUBLISHED_ACCURACY = {
    "gsm8k/7b.jsonl": 59.74,
    "gsm8k/13b.jsonl": 66.41,
    "gsm8k/70b.jsonl": 83.62,
    "gsm8k_robust/7b.jsonl": 58.23,
    "gsm8k_robust/13b.jsonl": 66.57,
    "gsm8k_robust/70b.jsonl": 81.80,
    "mathgpt/70b.jsonl": 59.70,
}

# Every response where our verdict differs from the published `result`: (file, id) -> (our status, reason snippet).
# Each one is the published grader's mistake (the four quirks of abel-outputs/MANIFEST.md).
EXPECTED_DISAGREEMENTS = {
    ("gsm8k/13b.jsonl", 880): ("correct", "trailing period removed: '10.' == 10"),
    ("gsm8k_robust/13b.jsonl", 490): ("correct", "no space after ####: '5' == 5"),
    ("gsm8k_robust/70b.jsonl", 1312): ("correct", "trailing period removed: '528.' == 528"),
    ("mathgpt/70b.jsonl", 1363): ("invalid", "two options 'A,B' on a single-choice question"),
}


def test_regrade_abel_published_outputs(abel_outputs: Path) -> None:
    disagreements: dict[tuple[str, int], Grade] = {}
    total = 0
    for name, published in PUBLISHED_ACCURACY.items():
        records = [json.loads(line) for line in (abel_outputs / name).read_text(encoding="utf-8").splitlines()]
        assert round(100 * sum(r["result"] for r in records) / len(records), 2) == published, name
        folder = name.split("/")[0]
        ours = 0
        for record in records:
            grade = grade_abel_record(folder, record)
            ours += grade.correct
            if grade.correct != record["result"]:
                disagreements[(name, record["id"])] = grade
        flips = sum(+1 if g.correct else -1 for (n, _), g in disagreements.items() if n == name)
        assert ours == sum(r["result"] for r in records) + flips
        total += len(records)
    assert total == 9914
    assert disagreements.keys() == EXPECTED_DISAGREEMENTS.keys()
    for key, (status, reason) in EXPECTED_DISAGREEMENTS.items():
        assert disagreements[key].status == GradeStatus(status), key
        assert reason in disagreements[key].reason, (key, disagreements[key].reason)


def test_regrade_status_mix_on_mathgpt(abel_outputs: Path) -> None:
    records = [json.loads(line) for line in (abel_outputs / "mathgpt/70b.jsonl").read_text().splitlines()]
    statuses = Counter(grade_abel_record("mathgpt", r).status for r in records)
    # 21 responses never reach '####' plus one with nothing after it; two-option and "None" answers are invalid.
    assert statuses[GradeStatus.NO_ANSWER] == 22
    assert statuses[GradeStatus.INVALID] == 5


# --- abel-triage grade-file -------------------------------------------------------------------------------------


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_grade_file_cli_writes_each_line_back(tmp_path: Path) -> None:
    from db.cli import app

    source = _write_lines(
        tmp_path / "in.jsonl",
        [
            json.dumps({"id": 1, "response": "#### 10. ", "gold": "10"}),
            json.dumps({"response": "#### A,B", "gold": "A", "choices": ["A", "B", "C"]}),
            json.dumps({"response": "#### (B)", "gold": "B", "choices": [{"letter": "A", "text": "1"},
                                                                          {"letter": "B", "text": "2"}]}),
            json.dumps({"response": "#### \\sqrt{8}", "gold": "2\\sqrt{2}", "answer_type": "latex"}),
            json.dumps({"prompt": BURGERS, "response": "#### F", "gold": "A"}),
        ],
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["grade-file", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["status"] for r in rows] == ["correct", "invalid", "correct", "correct", "invalid"]
    assert [r["correct"] for r in rows] == [True, False, True, True, False]
    assert rows[0]["id"] == 1 and rows[0]["extracted"] == "10." and "trailing period" in rows[0]["reason"]
    assert "not among the options ABCDE" in rows[4]["reason"]  # options found in the embedded prompt


def test_grade_file_cli_reports_malformed_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    from db.cli import app

    source = _write_lines(
        tmp_path / "in.jsonl",
        [
            json.dumps({"response": "#### 18", "gold": "18"}),
            "{not json",
            json.dumps({"response": "#### 5"}),
            json.dumps({"response": "#### 5", "gold": "5", "answer_type": "roman"}),
            json.dumps({"response": "#### 7", "gold": "8"}),
        ],
    )
    result = CliRunner().invoke(app, ["grade-file", str(source)])
    assert result.exit_code == 1
    assert [json.loads(line)["status"] for line in result.stdout.splitlines()] == ["correct", "incorrect"]
    errors = result.stderr.splitlines()
    assert errors[0].startswith(f"{source}:2: invalid JSON")
    assert errors[1] == f'{source}:3: missing "gold"'
    assert errors[2].startswith(f"{source}:4: unknown \"answer_type\" 'roman'")
    assert len(errors) == 3


def test_grade_file_missing_file_is_one_line_error(tmp_path: Path) -> None:
    exe = REPO_ROOT / ".venv" / "bin" / "abel-triage"
    if not exe.exists():
        pytest.skip(f"console script not installed at {exe}")
    missing = tmp_path / "nope.jsonl"
    proc = subprocess.run([str(exe), "grade-file", str(missing)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: no such file: {missing}"
    assert "Traceback" not in proc.stderr and proc.stdout == ""
