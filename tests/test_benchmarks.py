"""Benchmark adapters: every registered benchmark on its real file, plus lenient ingest on small hand-made files."""

from __future__ import annotations

import json
import logging
import sys
import types
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from analysis.benchmarks import (
    REGISTRY,
    BenchmarkFormatError,
    HuggingFaceUnavailable,
    UnknownBenchmark,
    format_number,
    get_benchmark,
    last_boxed,
    load_benchmark_file,
)
from analysis.benchmarks.parsing import normalize_space, split_inline_options, strip_math_delimiters
from analysis.types import AnswerType, Choice, Domain, LineError, Problem, ProblemRef

# name -> (problems, line errors) per the benchmark's MANIFEST.md
EXPECTED_COUNTS = {
    "gsm8k": (1319, 0), "gsm8k_robust": (1319, 0), "gsm_hard": (1319, 0), "gsm_plus": (2400, 0),
    "gsm_symbolic": (2500, 0), "gsm_ic": (1000, 0), "svamp": (1000, 0), "asdiv": (2215, 0), "mawps": (2065, 0),
    "aqua": (254, 0), "tal_scq5k_en": (2000, 0), "mmlu_stem": (3018, 0), "sat_math": (32, 0), "carp_en": (976, 0),
    "college_math": (2818, 0), "gaokao2023en": (383, 2), "math500": (500, 0), "math_full_test": (5000, 0),
    "minerva_math": (272, 0), "olympiadbench": (675, 0), "aime24": (30, 0), "amc23": (40, 0),
}


@cache
def _load(data_dir: Path, name: str) -> tuple[list[Problem], list[LineError]]:
    spec = get_benchmark(name)
    return spec.load(data_dir / spec.default_file)


def _by_key(data_dir: Path, name: str) -> dict[str, Problem]:
    return {p.key: p for p in _load(data_dir, name)[0]}


# --- registry ------------------------------------------------------------------------------------------------


def test_registry_names_domains_and_answer_types() -> None:
    assert set(REGISTRY) == set(EXPECTED_COUNTS)
    in_domain = {"gsm8k", "math500", "math_full_test"}
    robustness = {"gsm8k_robust", "gsm_hard", "gsm_plus", "gsm_symbolic", "gsm_ic"}
    for name, spec in REGISTRY.items():
        expected = Domain.IN_DOMAIN if name in in_domain else (
            Domain.ROBUSTNESS if name in robustness else Domain.OUT_OF_DOMAIN)
        assert spec.domain is expected, name
    choice = {"aqua", "tal_scq5k_en", "mmlu_stem", "sat_math"}
    latex = {"math500", "math_full_test", "college_math", "gaokao2023en", "olympiadbench", "minerva_math", "carp_en"}
    for name, spec in REGISTRY.items():
        expected_type = AnswerType.CHOICE if name in choice else (
            AnswerType.LATEX if name in latex else AnswerType.NUMBER)
        assert spec.answer_type is expected_type, name
    assert REGISTRY["olympiadbench"].multiple_answers
    assert not REGISTRY["gsm8k"].multiple_answers
    assert REGISTRY["gsm8k"].hf_dataset == "openai/gsm8k"


def test_unknown_benchmark_names_the_known_ones() -> None:
    with pytest.raises(UnknownBenchmark) as exc:
        get_benchmark("gsm9k")
    assert isinstance(exc.value, ValueError)
    assert "gsm9k" in str(exc.value) and "gsm8k" in str(exc.value) and "tal_scq5k_en" in str(exc.value)


def test_mr_gsm8k_is_not_a_benchmark() -> None:
    assert "mr_gsm8k" not in REGISTRY
    with pytest.raises(UnknownBenchmark, match="not a benchmark"):
        get_benchmark("mr_gsm8k")


# --- every adapter on its real file --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_counts_on_real_files(benchmarks_dir: Path, name: str) -> None:
    problems, errors = _load(benchmarks_dir, name)
    assert (len(problems), len(errors)) == EXPECTED_COUNTS[name]
    assert len({p.key for p in problems}) == len(problems)
    assert all(p.benchmark == name and p.question.strip() and p.answer.strip() for p in problems)
    if REGISTRY[name].answer_type is AnswerType.CHOICE:
        for p in problems:
            assert len(p.choices) >= 2
            assert p.answer in {c.letter for c in p.choices}


def test_gsm8k_keeps_annotated_solution(benchmarks_dir: Path) -> None:
    problems = _by_key(benchmarks_dir, "gsm8k")
    assert sorted(problems, key=int) == [str(i) for i in range(1319)]
    first = problems["0"]
    assert first.answer == "18"
    assert "<<16-3-4=9>>" in first.solution
    assert first.solution.endswith("#### 18")
    assert first.question.startswith("Janet’s ducks lay 16 eggs per day.")


def test_gsm8k_robust_links_each_item_to_the_same_gsm8k_index(benchmarks_dir: Path) -> None:
    problems = _by_key(benchmarks_dir, "gsm8k_robust")
    assert problems["0"].answer == "30"
    assert problems["9"].answer == "637.5"
    assert all(p.original == ProblemRef("gsm8k", key) for key, p in problems.items())


def test_gsm_hard_gold_and_links_by_docstring(benchmarks_dir: Path) -> None:
    problems, _ = _load(benchmarks_dir, "gsm_hard")
    gsm8k = _by_key(benchmarks_dir, "gsm8k")
    assert problems[0].answer == "-9867630"
    assert problems[7].answer == "3244047.1"  # target 3244047.0999999996: float noise removed
    linked = [p for p in problems if p.original is not None]
    assert 1314 <= len(linked) <= 1319
    for p in linked:
        assert normalize_space(p.metadata["original_question"]) == normalize_space(gsm8k[p.original.key].question)
    # first item is GSM8K's first question with a big number substituted
    assert problems[0].original == ProblemRef("gsm8k", "0")


def _copy_head(src: Path, dst: Path, n: int) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with src.open(encoding="utf-8") as fh:
        dst.write_text("".join(next(fh) for _ in range(n)), encoding="utf-8")
    return dst


def test_gsm_hard_without_gsm8k_beside_it_leaves_original_empty_and_says_so(
    benchmarks_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _copy_head(benchmarks_dir / "gsm_hard" / "gsmhardv2.jsonl", tmp_path / "gsm_hard" / "x.jsonl", 5)
    with caplog.at_level(logging.WARNING):
        problems, errors = load_benchmark_file("gsm_hard", path)
    assert len(problems) == 5 and not errors
    assert all(p.original is None for p in problems)
    assert "not linked" in caplog.text


def test_gsm_hard_finds_gsm8k_beside_its_folder(benchmarks_dir: Path, tmp_path: Path) -> None:
    _copy_head(benchmarks_dir / "gsm8k" / "test.jsonl", tmp_path / "gsm8k" / "test.jsonl", 1319)
    path = _copy_head(benchmarks_dir / "gsm_hard" / "gsmhardv2.jsonl", tmp_path / "gsm_hard" / "x.jsonl", 3)
    problems, _ = load_benchmark_file("gsm_hard", path)
    assert problems[0].original == ProblemRef("gsm8k", "0")


def test_gsm_plus_perturbations_and_seed_links(benchmarks_dir: Path) -> None:
    problems, _ = _load(benchmarks_dir, "gsm_plus")
    gsm8k = _by_key(benchmarks_dir, "gsm8k")
    types_ = Counter(p.metadata["perturbation_type"] for p in problems)
    assert len(types_) == 8 and set(types_.values()) == {300}
    assert all(p.original is not None for p in problems)
    for p in problems:
        assert p.metadata["seed_question"] == gsm8k[p.original.key].question
        assert p.metadata["seed_answer"] and p.metadata["seed_solution"]
    assert problems[0].answer == "4.33"
    critical = [p for p in problems if p.metadata["perturbation_type"] == "critical thinking"]
    assert {p.answer for p in critical} == {"None"}
    assert all(p.metadata["answer_type"] == "text" for p in critical)
    assert not any("answer_type" in p.metadata for p in problems if p not in critical)


def test_gsm_plus_without_gsm8k_keeps_seed_fields(benchmarks_dir: Path, tmp_path: Path) -> None:
    path = _copy_head(benchmarks_dir / "gsm_plus" / "gsmplus_testmini.jsonl", tmp_path / "plus" / "p.jsonl", 4)
    problems, _ = load_benchmark_file("gsm_plus", path)
    assert all(p.original is None for p in problems)
    assert problems[0].metadata["seed_question"].startswith("Three of the women at the cocktail party")
    assert problems[0].metadata["seed_answer"] == "3"


def test_gsm_symbolic_links_original_id(benchmarks_dir: Path) -> None:
    problems, _ = _load(benchmarks_dir, "gsm_symbolic")
    first = problems[0]
    assert first.answer == "32.5"
    assert first.original == ProblemRef("gsm8k", "473")
    assert first.metadata["template_id"] == 0 and first.metadata["instance"] == 0
    assert Counter(p.metadata["instance"] for p in problems)[49] == 50


def test_gsm_ic_and_svamp(benchmarks_dir: Path) -> None:
    ic = _load(benchmarks_dir, "gsm_ic")[0][0]
    assert (ic.answer, ic.metadata["n_steps"]) == ("8", 2)
    svamp = _by_key(benchmarks_dir, "svamp")
    item = svamp["chal-777"]
    assert item.question == (
        "There are 87 oranges and 290 bananas in Philip's collection. If the bananas are organized into 2 groups "
        "and oranges are organized into 93 groups How big is each group of bananas?"
    )
    assert item.answer == "145"
    assert item.metadata["Type"] == "Common-Division"


def test_asdiv_strips_units_and_notes_text_answers(benchmarks_dir: Path) -> None:
    problems, _ = _load(benchmarks_dir, "asdiv")
    first = problems[0]
    assert (first.answer, first.metadata["unit"]) == ("9", "apples")
    assert first.question == (
        "Seven red apples and two green apples are in the basket. How many apples are in the basket?"
    )
    text = [p for p in problems if p.metadata.get("answer_type") == "text"]
    assert {"Yes", "3:4", "They are equal"} <= {p.answer for p in text}
    assert not any("(" in p.answer for p in problems if p.answer[0].isdigit())
    assert 100 < len(text) < 140


def test_mawps_union_and_subset_files(benchmarks_dir: Path) -> None:
    problems, _ = _load(benchmarks_dir, "mawps")
    assert Counter(p.metadata["type"] for p in problems) == {
        "multiarith": 600, "singleop": 562, "singleeq": 508, "addsub": 395}
    assert problems[0].answer == "43"
    subset, errors = load_benchmark_file("mawps", benchmarks_dir / "mawps" / "addsub.jsonl")
    assert len(subset) == 395 and not errors
    assert subset[0].key == "addsub/0" and subset[0].metadata["type"] == "addsub"


def test_aqua_options(benchmarks_dir: Path) -> None:
    first = _load(benchmarks_dir, "aqua")[0][0]
    assert first.choices[0] == Choice("A", "5(√3 + 1)")
    assert [c.letter for c in first.choices] == list("ABCDE")
    assert first.choices[4] == Choice("E", "None of these")
    assert first.answer == "A"
    assert first.solution.startswith("Explanation")


def test_tal_scq5k_keys_by_line_and_keeps_options_verbatim(benchmarks_dir: Path) -> None:
    problems, _ = _load(benchmarks_dir, "tal_scq5k_en")
    assert [p.key for p in problems] == [str(i) for i in range(2000)]
    first = problems[0]
    assert first.metadata["qid"] == "3" and first.answer == "C"
    assert first.choices[0].text == "a = 0.1 rad/s\\textsuperscript{2}~$\\Delta\\theta$~= 0.3 radians "
    ten = [p for p in problems if p.answer == "F"]
    assert len(ten) == 1 and len(ten[0].choices) == 10


def test_mmlu_stem_index_to_letter(benchmarks_dir: Path) -> None:
    first = _load(benchmarks_dir, "mmlu_stem")[0][0]
    assert first.answer == "C"
    assert first.choices[2].text == "reduce the carrying capacity cif the environment to lower the K value"
    assert first.metadata["type"] == "college_biology"


def test_sat_math_options_string_parsed(benchmarks_dir: Path) -> None:
    problems = _by_key(benchmarks_dir, "sat_math")
    assert problems["0"].choices == (
        Choice("A", "$f(-6)=0$"), Choice("B", "$f(6)=-6$"), Choice("C", "$f(-6)=6$"), Choice("D", "$f(0)=-6$"))
    assert all(len(p.choices) == 4 for p in problems.values())
    # some items use "A. ..." instead of "A) ..."
    assert problems["17"].choices[3] == Choice("D", "$435(100 b)$")
    assert problems["2"].choices[3] == Choice("D", "-10 and 10")


def test_latex_sets(benchmarks_dir: Path) -> None:
    assert _load(benchmarks_dir, "carp_en")[0][0].answer == "b ^ { 2 } - 9 a ^ { 2 }"
    college = _load(benchmarks_dir, "college_math")[0]
    assert college[0].answer == "10-4 n" and college[0].metadata["answer_raw"] == "$10-4 n$"
    # dollars that do not wrap the whole answer stay
    assert any(p.answer == "$\\$ 3000 @ 11 \\%$; $\\$ 24000 @ 7 \\%$" for p in college)
    math500 = _by_key(benchmarks_dir, "math500")
    item = math500["test/precalculus/807.json"]
    assert item.answer == "\\left( 3, \\frac{\\pi}{2} \\right)"
    assert item.metadata == {"level": 2, "subject": "Precalculus"}
    full = _by_key(benchmarks_dir, "math_full_test")
    assert full["test/algebra/1.json"].answer == "2"
    assert full["test/algebra/1.json"].metadata["level"] == 3
    assert full["test/algebra/1.json"].metadata["subject"] == "algebra"
    assert set(math500) <= set(full)


def test_minerva_gold_is_last_boxed(benchmarks_dir: Path) -> None:
    problems, _ = _load(benchmarks_dir, "minerva_math")
    assert problems[0].answer == "1.6"
    assert problems[1].answer == "4.5e33"
    assert all(p.answer == last_boxed(p.solution).strip() for p in problems)


def test_gaokao_empty_answers_are_line_errors(benchmarks_dir: Path) -> None:
    problems, errors = _load(benchmarks_dir, "gaokao2023en")
    assert [e.line for e in errors] == [168, 193]
    assert all("answer" in e.message and e.path.endswith("test.jsonl") for e in errors)
    assert "167" not in {p.key for p in problems} and "168" in {p.key for p in problems}


def test_olympiadbench_final_answers(benchmarks_dir: Path) -> None:
    problems = _by_key(benchmarks_dir, "olympiadbench")
    assert problems["1606"].answer == "2"
    multi = [p for p in problems.values() if p.metadata["is_multiple_answer"]]
    assert len(multi) == 94
    assert all(p.metadata["final_answers"] == [p.answer] for p in problems.values())  # one list entry each


def test_olympiadbench_joins_several_final_answers(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps({"id": 7, "question": "Find x.", "final_answer": ["1", "$2$"],
                                "is_multiple_answer": False, "solution": ["a", "b"]}) + "\n")
    (p,), _ = load_benchmark_file("olympiadbench", path)
    assert p.answer == "1, $2$" and p.metadata["is_multiple_answer"] is True
    assert p.solution == "a" and p.metadata["other_solutions"] == ["b"]


def test_aime_and_amc(benchmarks_dir: Path) -> None:
    aime = _by_key(benchmarks_dir, "aime24")
    assert aime["60"].answer == "204" and aime["60"].metadata["url"].startswith("https://")
    amc = _by_key(benchmarks_dir, "amc23")
    assert amc["0"].answer == "27"
    assert amc["17"].answer == "-1"  # line 15; ids are not in line order


# --- parsing helpers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    (-9867630.0, "-9867630"), (27.0, "27"), (3244047.0999999996, "3244047.1"), (0.5, "0.5"), (7, "7"),
    (1e-07, "0.0000001"), (4.5e20, "450000000000000000000"), (" 30 ", "30"), (14053029.666666666, "14053029.6667"),
])
def test_format_number(value: float | str, expected: str) -> None:
    assert format_number(value) == expected


def test_last_boxed_matches_braces_and_takes_the_last() -> None:
    assert last_boxed("so \\boxed{\\frac{1}{2}} and then \\boxed{\\{1, 2\\}}.") == "\\{1, 2\\}"
    assert last_boxed("x = \\boxed{\\frac{a}{b^{2}}}") == "\\frac{a}{b^{2}}"
    assert last_boxed("no box here") is None
    assert last_boxed("unclosed \\boxed{1") is None


def test_split_inline_options_ignores_letters_inside_text() -> None:
    choices = split_inline_options("A) data set A is greater B) data set B C) equal D) not enough")
    assert choices == (Choice("A", "data set A is greater"), Choice("B", "data set B"), Choice("C", "equal"),
                       Choice("D", "not enough"))


def test_strip_math_delimiters() -> None:
    assert strip_math_delimiters("$x^2$") == "x^2"
    assert strip_math_delimiters("$a$ or $b$") == "$a$ or $b$"
    assert strip_math_delimiters("12") == "12"


# --- lenient ingest on small files ----------------------------------------------------------------------------


def _gsm_line(i: int, answer: str = "5") -> str:
    return json.dumps({"question": f"Question {i}?", "answer": f"{i} + 1 = <<{i}+1={i + 1}>>\n#### {answer}",
                       "idx": i})


def test_malformed_line_in_the_middle_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text("\n".join([
        _gsm_line(0),
        '{"question": "broken", "answer": ',
        json.dumps({"question": "no answer", "idx": 2}),
        "[1, 2]",
        _gsm_line(4, "1,000"),
    ]) + "\n", encoding="utf-8")
    problems, errors = load_benchmark_file("gsm8k", path)
    assert [p.key for p in problems] == ["0", "4"]
    assert problems[1].answer == "1,000"
    assert [(e.line, e.path) for e in errors] == [(2, str(path)), (3, str(path)), (4, str(path))]
    assert "invalid JSON" in errors[0].message
    assert "'answer'" in errors[1].message
    assert "JSON object" in errors[2].message
    assert str(errors[0]) == f"{path}:2: {errors[0].message}"


def test_strict_raises_at_the_first_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text(_gsm_line(0) + "\nnot json\n" + _gsm_line(2) + "\n", encoding="utf-8")
    with pytest.raises(BenchmarkFormatError, match=":2: invalid JSON") as exc:
        load_benchmark_file("gsm8k", path, strict=True)
    assert exc.value.error.line == 2


def test_duplicate_keys_and_missing_gold_marker_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    no_marker = json.dumps({"question": "q", "answer": "just text", "idx": 9})
    path.write_text("\n".join([_gsm_line(1), _gsm_line(1), no_marker]) + "\n", encoding="utf-8")
    problems, errors = load_benchmark_file("gsm8k", path)
    assert len(problems) == 1
    assert "duplicate key '1' (first at line 1)" in errors[0].message
    assert "####" in errors[1].message


def test_bad_option_letter_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "aqua.jsonl"
    path.write_text(json.dumps({"question": "q", "options": ["A)1", "B)2"], "correct": "E"}) + "\n")
    problems, errors = load_benchmark_file("aqua", path)
    assert not problems and "not one of the options AB" in errors[0].message


def test_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "test.jsonl"
    with pytest.raises(FileNotFoundError, match="nope/test.jsonl"):
        load_benchmark_file("gsm8k", missing)


# --- Hugging Face ---------------------------------------------------------------------------------------------


def test_hf_without_datasets_installed_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # import fails as if not installed
    with pytest.raises(HuggingFaceUnavailable, match="openai/gsm8k could not be loaded.*not installed"):
        get_benchmark("gsm8k").load_hf()


def test_hf_rows_go_through_the_file_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def load_dataset(name: str, config: str | None, split: str) -> list[dict]:
        calls.append((name, config, split))
        return [{"question": "A?", "answer": "1+1=<<1+1=2>>2\n#### 2"}, {"question": "B?", "answer": "no marker"}]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    problems, errors = get_benchmark("gsm8k").load_hf()
    assert calls == [("openai/gsm8k", "main", "test")]
    assert [(p.key, p.answer) for p in problems] == [("0", "2")]
    assert errors == [LineError("hf:openai/gsm8k:main[test]", 2, "solution has no '#### <answer>' line")]


def test_hf_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def load_dataset(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("Couldn't reach 'openai/gsm8k' on the Hub")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    with pytest.raises(HuggingFaceUnavailable, match=r"openai/gsm8k could not be loaded \(offline\?\)"):
        get_benchmark("gsm8k").load_hf()


def test_hf_without_a_registered_dataset_asks_for_one() -> None:
    with pytest.raises(HuggingFaceUnavailable, match="--hf DATASET"):
        get_benchmark("gsm8k_robust").load_hf()
