"""The runner's own overhead per response: `abel-triage run`'s service (db.runner) with the OpenAI engine vs.
bare HTTP calls on the same prompts, both against the loopback server of tests/openai_server.py (run in its own
process, answering from Abel's published gsm8k/7b outputs).

    .venv/bin/python benchmarks/bench_runner_overhead.py [--repeats 3] [--concurrency 4] [--batch-size 64]

Prints the wall time of each side, the overhead per response and where the runner's time went (generation,
hand-off to the writer, the writer's own time, grading, categorizing). Problem loading is done once before the
clock starts and reported separately.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis.engines import SamplingSettings, make_engine  # noqa: E402
from db.runner import RunRequest, RunResult, execute_run  # noqa: E402
from db.session import make_engine as make_db  # noqa: E402

SHARED = REPO.parent / "shared" / "data"


def start_server(outputs: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.openai_server", str(outputs)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "serving ... at http://127.0.0.1:PORT/v1 (Ctrl-C to stop)"
    url = line.split(" at ")[1].split()[0]
    return proc, url


def bare_http(url: str, prompts: list[str], concurrency: int) -> float:
    """The floor: the same requests with `requests` and a thread pool, nothing stored or graded."""
    local = __import__("threading").local()

    def one(prompt: str) -> str:
        session = getattr(local, "s", None) or requests.Session()
        local.s = session
        body = {"model": "Abel-7B-001", "prompt": prompt, "max_tokens": 2048, "temperature": 0.0, "top_p": 1.0,
                "n": 1}
        resp = session.post(f"{url}/completions", json=body, timeout=60)
        resp.raise_for_status()
        return resp.json()["choices"][0]["text"]

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        texts = list(pool.map(one, prompts))
    elapsed = time.perf_counter() - started
    assert len(texts) == len(prompts)
    return elapsed


def runner_once(url: str, db_path: Path, concurrency: int, batch_size: int) -> RunResult:
    db = make_db(f"sqlite:///{db_path}")
    request = RunRequest(model="Abel-7B-001", benchmark="gsm8k", engine="openai", batch_size=batch_size,
                         served_model="Abel-7B-001", base_url=url)
    try:
        return execute_run(
            db, request,
            lambda: make_engine("openai", base_url=url, model="Abel-7B-001", concurrency=concurrency),
        )
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    outputs, benchmarks = SHARED / "abel-outputs", SHARED / "benchmarks"
    prompts = [json.loads(line)["prompt"] for line in (outputs / "gsm8k" / "7b.jsonl").read_text().splitlines()]
    proc, url = start_server(outputs)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            template_db = Path(tmp) / "problems.db"
            # Load the benchmark once (not part of the per-response overhead), then copy that DB per repeat.
            db = make_db(f"sqlite:///{template_db}")
            from analysis.benchmarks import get_benchmark
            from db.session import session_scope
            from db.store import ensure_benchmark, upsert_problems

            t0 = time.perf_counter()
            spec = get_benchmark("gsm8k")
            problems, _ = spec.load(benchmarks / spec.default_file)
            with session_scope(db) as s:
                upsert_problems(s, ensure_benchmark(s, "gsm8k", domain=spec.domain, answer_type=spec.answer_type),
                                problems)
            load_s = time.perf_counter() - t0
            db.dispose()

            bare_http(url, prompts[:64], args.concurrency)  # warm up the server's answer table
            engine = make_engine("openai", base_url=url, model="Abel-7B-001", concurrency=args.concurrency)
            bare, engine_only, runs = [], [], []
            for i in range(args.repeats):
                bare.append(bare_http(url, prompts, args.concurrency))
                t0 = time.perf_counter()
                for start in range(0, len(prompts), args.batch_size):
                    engine.generate(prompts[start : start + args.batch_size], SamplingSettings())
                engine_only.append(time.perf_counter() - t0)
                db_path = Path(tmp) / f"run{i}.db"
                db_path.write_bytes(template_db.read_bytes())
                runs.append(runner_once(url, db_path, args.concurrency, args.batch_size))
            engine.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    n = len(prompts)
    med = statistics.median
    run_total = med(r.timings.total_s for r in runs)
    print(f"gsm8k/7b via loopback server, {n} prompts, concurrency {args.concurrency}, batch {args.batch_size}, "
          f"median of {args.repeats}")
    print(f"  benchmark file load + store (once): {load_s:.2f} s")
    print(f"  bare HTTP (requests + thread pool): {med(bare):.2f} s  ({1000 * med(bare) / n:.2f} ms/response)")
    print(f"  OpenAI engine, batches, no storage: {med(engine_only):.2f} s  "
          f"({1000 * med(engine_only) / n:.2f} ms/response)")
    print(f"  runner (store + grade + categorize): {run_total:.2f} s  ({1000 * run_total / n:.2f} ms/response)")
    print(f"  runner overhead vs bare HTTP: {1000 * (run_total - med(bare)) / n:+.2f} ms/response")
    for label, attr in [("generation (engine.generate)", "generate_s"), ("prompt rendering + row building", "render_s"),
                        ("generation blocked on the writer", "handoff_s"), ("writer insert+commit (overlapped)",
                        "store_s"), ("grading", "grade_s"), ("categorizing", "categorize_s")]:
        value = med(getattr(r.timings, attr) for r in runs)
        print(f"    {label:36s} {value:6.3f} s  ({1000 * value / n:.3f} ms/response)")
    print(f"  accuracy {runs[-1].accuracy:.2f}%, responses {runs[-1].responses}, "
          f"categorized: {runs[-1].categorized}")


if __name__ == "__main__":
    main()
