"""Every benchmark Abel Triage knows, with its domain, answer type, file and Hugging Face id.

Hugging Face ids marked "unverified" were not checked against the Hub from here (no network); `--hf DATASET`
overrides any of them.
"""

from __future__ import annotations

from pathlib import Path

from analysis.benchmarks import choice, gsm, latex
from analysis.benchmarks.spec import BenchmarkSpec, UnknownBenchmark
from analysis.types import AnswerType, Domain, LineError, Problem

_IN, _OUT, _ROB = Domain.IN_DOMAIN, Domain.OUT_OF_DOMAIN, Domain.ROBUSTNESS
_NUM, _TEX, _CHO = AnswerType.NUMBER, AnswerType.LATEX, AnswerType.CHOICE

_SPECS: tuple[BenchmarkSpec, ...] = (
    # In-domain: what Abel was trained and published on.
    BenchmarkSpec(
        "gsm8k", _IN, _NUM, "GSM8K test: grade-school word problems; gold after '####' of the annotated rationale.",
        "gsm8k/test.jsonl", "openai/gsm8k", hf_config="main", parse=gsm.parse_gsm8k,
    ),
    BenchmarkSpec(
        "math500", _IN, _TEX, "MATH-500 (PRM800K test subset); LaTeX answers, level and subject kept.",
        "math500/test.jsonl", "HuggingFaceH4/MATH-500", parse=latex.parse_math,
    ),
    BenchmarkSpec(
        "math_full_test", _IN, _TEX, "MATH (Hendrycks) full test set, 5,000 problems; gold = last \\boxed{}.",
        "math_full_test/test.jsonl", "hendrycks/competition_math", parse=latex.parse_math,  # unverified
    ),
    # Robustness: GSM8K with its questions perturbed.
    BenchmarkSpec(
        "gsm8k_robust", _ROB, _NUM, "Abel's GSM8k_robust: GSM8K test with numbers changed by GPT-4; same idx.",
        "gsm8k_robust/test.jsonl", None, parse=gsm.parse_gsm8k_robust,
    ),
    BenchmarkSpec(
        "gsm_hard", _ROB, _NUM, "GSM-Hard (PAL): GSM8K with big numbers; gold computed by a program (noisy).",
        "gsm_hard/gsmhardv2.jsonl", "reasoning-machines/gsm-hard", hf_split="train", originals_from="gsm8k",
        parse=gsm.parse_gsm_hard,
    ),
    BenchmarkSpec(
        "gsm_plus", _ROB, _NUM, "GSM-Plus testmini: 300 GSM8K seeds x 8 perturbation types; 'None' = unanswerable.",
        "gsm_plus/gsmplus_testmini.jsonl", "qintongli/GSM-Plus", hf_split="testmini", originals_from="gsm8k",
        parse=gsm.parse_gsm_plus,
    ),
    BenchmarkSpec(
        "gsm_symbolic", _ROB, _NUM, "GSM-Symbolic P2: 50 GSM8K templates x 50 instances with two extra clauses.",
        "gsm_symbolic/GSM_p2.jsonl", "apple/GSM-Symbolic", hf_config="p2", parse=gsm.parse_gsm_symbolic,
    ),
    BenchmarkSpec(
        "gsm_ic", _ROB, _NUM, "GSM-IC base problems (GSM8K dev split; the irrelevant-context files are absent).",
        "gsm_ic/gsm8k_validation.jsonl", None, parse=gsm.parse_gsm_ic,
    ),
    # Out of domain.
    BenchmarkSpec(
        "svamp", _OUT, _NUM, "SVAMP challenge set; question = Body + ' ' + Question.",
        "svamp/test.jsonl", "ChilleD/SVAMP", parse=gsm.parse_svamp,  # unverified
    ),
    BenchmarkSpec(
        "asdiv", _OUT, _NUM, "ASDiv; unit in parentheses stripped from the gold; some golds are not numbers.",
        "asdiv/test.jsonl", "EleutherAI/asdiv", hf_split="validation", parse=gsm.parse_asdiv,  # unverified
    ),
    BenchmarkSpec(
        "mawps", _OUT, _NUM, "MAWPS (addsub, multiarith, singleeq, singleop); test.jsonl is their union.",
        "mawps/test.jsonl", None, parse=gsm.parse_mawps,
    ),
    BenchmarkSpec(
        "aqua", _OUT, _CHO, "AQuA-RAT test: algebra word problems with five options.",
        "aqua/test.jsonl", "deepmind/aqua_rat", hf_config="raw", parse=choice.parse_aqua,
    ),
    BenchmarkSpec(
        "tal_scq5k_en", _OUT, _CHO, "TAL-SCQ5K-EN test (2K): competition single choice; Abel's 'mathgpt' outputs.",
        "tal_scq5k_en/en_single_choice_test_2K.jsonl", None, parse=choice.parse_tal_scq5k,
    ),
    BenchmarkSpec(
        "mmlu_stem", _OUT, _CHO, "MMLU STEM subjects (not only math: filter on metadata type).",
        "mmlu_stem/test.jsonl", "TIGER-Lab/MMLU-STEM", parse=choice.parse_mmlu_stem,  # unverified
    ),
    BenchmarkSpec(
        "sat_math", _OUT, _CHO, "SAT math, 32 multiple-choice items.",
        "sat_math/test.jsonl", None, parse=choice.parse_sat_math,
    ),
    BenchmarkSpec(
        "carp_en", _OUT, _TEX, "CARP English: computation-heavy algebra with LaTeX-ish answers.",
        "carp_en/test.jsonl", None, parse=latex.parse_carp_en,
    ),
    BenchmarkSpec(
        "college_math", _OUT, _TEX, "CollegeMath (MathScale) from open textbooks; $...$ stripped from the gold.",
        "college_math/test.jsonl", None, parse=latex.parse_college_math,
    ),
    BenchmarkSpec(
        "gaokao2023en", _OUT, _TEX, "Gaokao 2023 math in English; 2 items have no gold answer.",
        "gaokao2023en/test.jsonl", None, parse=latex.parse_gaokao,
    ),
    BenchmarkSpec(
        "minerva_math", _OUT, _TEX, "Minerva MIT OCW problems; gold = last \\boxed{} of the solution.",
        "minerva_math/test.jsonl", None, parse=latex.parse_minerva,
    ),
    BenchmarkSpec(
        "olympiadbench", _OUT, _TEX, "OlympiadBench OE_TO_maths_en_COMP; several final answers joined with ', '.",
        "olympiadbench/test.jsonl", "Hothan/OlympiadBench", hf_config="OE_TO_maths_en_COMP", hf_split="train",
        multiple_answers=True, parse=latex.parse_olympiadbench,  # unverified
    ),
    BenchmarkSpec(
        "aime24", _OUT, _NUM, "AIME 2024 I+II, integer answers 000-999.",
        "aime24/test.jsonl", "HuggingFaceH4/aime_2024", hf_split="train", parse=latex.parse_aime_amc,  # unverified
    ),
    BenchmarkSpec(
        "amc23", _OUT, _NUM, "AMC 12 2023, 40 items.",
        "amc23/test.jsonl", None, parse=latex.parse_aime_amc,
    ),
)

REGISTRY: dict[str, BenchmarkSpec] = {spec.name: spec for spec in _SPECS}

# Data sets found beside the benchmarks that are deliberately not benchmarks.
NOT_BENCHMARKS: dict[str, str] = {
    "mr_gsm8k": "MR-GSM8K is a set of human-labelled incorrect solutions (error analysis data), not a benchmark",
}


def get_benchmark(name: str) -> BenchmarkSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        reason = f" ({NOT_BENCHMARKS[name]})" if name in NOT_BENCHMARKS else ""
        raise UnknownBenchmark(f"unknown benchmark {name!r}{reason}; known benchmarks: {known}") from None


def load_benchmark_file(
    name: str, path: Path | str, strict: bool = False
) -> tuple[list[Problem], list[LineError]]:
    return get_benchmark(name).load(Path(path), strict=strict)
