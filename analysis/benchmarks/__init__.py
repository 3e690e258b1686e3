"""Benchmark adapters: one `BenchmarkSpec` per benchmark format, turning its file (or its Hugging Face dataset)
into `analysis.types.Problem`s with lenient ingest.

    from analysis.benchmarks import get_benchmark
    problems, errors = get_benchmark("gsm8k").load(Path("../shared/data/benchmarks/gsm8k/test.jsonl"))
"""

from analysis.benchmarks.parsing import RecordError, format_number, last_boxed
from analysis.benchmarks.registry import NOT_BENCHMARKS, REGISTRY, get_benchmark, load_benchmark_file
from analysis.benchmarks.spec import (
    BenchmarkFormatError,
    BenchmarkSpec,
    HuggingFaceUnavailable,
    ParseContext,
    UnknownBenchmark,
)

__all__ = [
    "NOT_BENCHMARKS",
    "REGISTRY",
    "BenchmarkFormatError",
    "BenchmarkSpec",
    "HuggingFaceUnavailable",
    "ParseContext",
    "RecordError",
    "UnknownBenchmark",
    "format_number",
    "get_benchmark",
    "last_boxed",
    "load_benchmark_file",
]
