"""Agreement of the rule categorizer, alone and with a judge model, with careful hand labels of Abel's failures.

    .venv/bin/python benchmarks/measure_dev_labels.py [--db /tmp/cat.db]
        [--split dev|holdout|tuning|test2|old|test3|test4|test5|all] [--limit N] [--show]

With a judge model served by vLLM (or any OpenAI-compatible server), the one command that measures it:

    vllm serve Qwen/Qwen2.5-32B-Instruct --port 8000        # elsewhere: any model, any OpenAI-compatible server
    .venv/bin/python benchmarks/measure_dev_labels.py --split all \\
        --judge-url http://127.0.0.1:8000/v1 --judge-model Qwen/Qwen2.5-32B-Instruct [--save /tmp/judge.jsonl]

(`--judge-engine vllm --judge-model PATH` runs vLLM in this process instead of a server.) It asks the judge about
every hand-labelled failure whose rule category is the `reasoning` fallback (the scope of `abel-triage judge`,
with the same prompt, `analysis/judge_prompt.md`) and prints the agreement of the rules alone, then of rules +
judge (a readable verdict replaces the fallback, with its step), in the same format, and how many verdicts were
unreadable (with a few of those answers, so a format problem is visible). Nothing is written to the database;
`--save` writes one JSON line per labelled failure (hand, rule and judge category, step, rationale).
`--prompt-format completion` sends raw prompts to /v1/completions instead of chat messages (base models);
`--max-tokens` bounds the judge's answer (it checks the steps in a few lines before its verdict lines).

`tests/data/categorize_dev_labels.jsonl` holds 550 failures, each labelled by reading the question, the reference
solution and the response, before looking at the categorizer's output: primary category, first wrong step,
rationale. 150 drawn with seed 3229 (90 gsm8k 7B/13B/70B, 40 gsm8k_robust, 20 tal_scq5k_en): 100 `dev` and 50
`holdout` (`tuning` = both, used while tuning version 3); 100 more drawn with seed 20261127 from the remaining
failures (60 gsm8k, 25 gsm8k_robust, 15 tal_scq5k_en) are `test2`: blind for version 3 (measured once before and
once after tuning it), tuned on for version 4. 100 more drawn with seed 20261203 (same mix) are the blind `test3`
split, labelled before version 4's changes and measured once before and once after them (`old` = the first 250,
the labels version 4 was tuned on); `test4` (100 more, seed 20261131) was blind for version 6's first part and
then tuned on; `test5` (100 more, seed 20261132) was labelled after version 6 was final and measured once: keep
it blind. Do not use `--show` on a blind
split while changing rules or the judge prompt; the prompt's examples are not taken from these labels.

The database must hold Abel's imported and graded outputs (`abel-triage --db PATH setup`); with no `--db` a
fresh one is built in a temporary file. Rule categories come from `categorize_failure` (the pure path, the same
as `abel-triage categorize`). Prints accuracy, per-category precision/recall and a confusion table; `--show` also
prints every disagreement with the hand rationale and the categorizer's evidence (and the judge's rationale).
`measure(...)` is the importable core (tests load this file with importlib).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analysis.categorize import CategoryResult, categorize_failure  # noqa: E402 - after the path fix above
from analysis.categorize.agreement import (  # noqa: E402
    Agreement,
    HandLabel,
    Prediction,
    format_agreement,
    load_hand_labels,
    measure_agreement,
)
from analysis.engines import EngineError  # noqa: E402
from analysis.judge import Judge, judge_batch, verdict_json  # noqa: E402
from analysis.types import Category  # noqa: E402

LABELS = ROOT / "tests" / "data" / "categorize_dev_labels.jsonl"
SPLITS = ("dev", "holdout", "tuning", "test2", "old", "test3", "test4", "test5", "all")
GROUPS = {"tuning": ("dev", "holdout"), "old": ("dev", "holdout", "test2"),
          "all": ("dev", "holdout", "test2", "test3", "test4", "test5")}


@dataclass
class Measurement:
    rules: Agreement
    combined: Agreement | None  # rules + judge; None when no judge was given
    judged: int = 0  # labelled failures whose rule category is `reasoning` (asked when there is a judge)
    unreadable: int = 0  # of those, answers that gave no verdict (the rule's fallback stays)
    verdicts: Counter[str] = field(default_factory=Counter)  # readable verdicts by category
    records: list[dict[str, Any]] = field(default_factory=list)  # one per label, in order (for --save and --show)


def select_labels(split: str, limit: int | None = None, path: Path = LABELS) -> list[HandLabel]:
    """The hand labels of a split (or group of splits), in file order; the first `limit` of them if given."""
    wanted = GROUPS.get(split, (split,))
    labels = [lab for lab in load_hand_labels(path) if lab.split in wanted]
    return labels[:limit] if limit is not None else labels


def measure(
    engine: Any,
    labels: Sequence[HandLabel],
    judge: Judge | None = None,
    *,
    batch_size: int = 100,
    on_progress: Callable[[int, int], None] | None = None,
) -> Measurement:
    """Rule categories (and, with `judge`, rules + judge) of the labelled failures in the database `engine`,
    compared with the hand labels. The judge gets the rule `reasoning` fallbacks, `batch_size` per batch; a
    readable verdict replaces the fallback. Raises LookupError when a labelled failure is not in the database."""
    from db.categorize import hand_labelled_inputs

    inputs = hand_labelled_inputs(engine, [(lab.run, lab.key) for lab in labels])
    missing = [lab for lab in labels if (lab.run, lab.key) not in inputs]
    if missing:
        raise LookupError(f"{len(missing)} labelled failures not found in the database, "
                          f"e.g. {missing[0].run} {missing[0].key}")
    results: list[CategoryResult] = [categorize_failure(inputs[(lab.run, lab.key)]) for lab in labels]
    rule_preds = [Prediction(r.category.value if r.category else "correct", r.first_error_step) for r in results]
    asked = [i for i, r in enumerate(results) if r.category is Category.REASONING]
    verdicts: dict[int, Any] = {}
    if judge is not None:
        for start in range(0, len(asked), batch_size):
            chunk = asked[start : start + batch_size]
            items = [(inputs[(labels[i].run, labels[i].key)], results[i]) for i in chunk]
            verdicts.update(zip(chunk, judge_batch(judge, items), strict=True))
            if on_progress is not None:
                on_progress(min(start + batch_size, len(asked)), len(asked))
    combined_preds = list(rule_preds)
    counts: Counter[str] = Counter()
    for i, verdict in verdicts.items():
        if verdict is not None:
            combined_preds[i] = Prediction(verdict.category.value, verdict.step)
            counts[verdict.category.value] += 1
    records = [
        {"run": lab.run, "key": lab.key, "split": lab.split, "hand": lab.category, "hand_step": lab.first_error_step,
         "hand_rationale": lab.rationale, "rule": rule.category, "rule_step": rule.first_error_step,
         "rule_evidence": result.evidence, "asked": i in verdicts, "judge": verdict_json(verdicts.get(i))}
        for i, (lab, rule, result) in enumerate(zip(labels, rule_preds, results, strict=True))
    ]
    return Measurement(
        rules=measure_agreement(zip(labels, rule_preds, strict=True)),
        combined=measure_agreement(zip(labels, combined_preds, strict=True)) if judge is not None else None,
        judged=len(asked) if judge is not None else 0,
        unreadable=sum(v is None for v in verdicts.values()),
        verdicts=counts,
        records=records,
    )


def format_measurement(m: Measurement, title: str) -> str:
    parts = [format_agreement(m.rules, f"rules alone, {title}")]
    if m.combined is not None:
        parts.append(format_agreement(m.combined, f"rules + judge, {title}", predicted="rules + judge"))
        verdicts = ", ".join(f"{c} {n}" for c, n in m.verdicts.most_common()) or "none"
        parts.append(f"judge: asked about {m.judged} `reasoning` fallbacks; readable {m.judged - m.unreadable} "
                     f"({verdicts}); unreadable {m.unreadable} (the rule's fallback kept)\n"
                     f"category agreement: rules {m.rules.correct}/{m.rules.n} -> rules + judge "
                     f"{m.combined.correct}/{m.combined.n} ({m.combined.correct - m.rules.correct:+d})")
    return "\n\n".join(parts)


def _disagreements(m: Measurement) -> str:
    lines = []
    for r in m.records:
        final = r["judge"]["category"] if r["judge"] else r["rule"]
        if final == r["hand"] and r["rule"] == r["hand"]:
            continue
        lines.append(f"--- {r['run']} {r['key']}: hand {r['hand']}@{r['hand_step']}, rule {r['rule']}@{r['rule_step']}"
                     + (f", judge {r['judge']['category']}@{r['judge']['step']}" if r["judge"] else "")
                     + f"\n    hand: {r['hand_rationale']}\n    rule: {r['rule_evidence']}"
                     + (f"\n    judge: {r['judge']['rationale']}" if r["judge"] else ""))
    return "\n".join(lines)


def _build_db(data: Path) -> Any:
    from db.grading import grade_responses
    from db.importer import import_abel_outputs
    from db.session import make_engine

    engine = make_engine(str(Path(tempfile.mkdtemp()) / "dev_labels.db"))
    import_abel_outputs(engine, data / "abel-outputs", benchmarks_dir=data / "benchmarks")
    grade_responses(engine)
    return engine


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=None, help="an imported and graded database (default: build one)")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--split", default="dev", choices=SPLITS)
    parser.add_argument("--limit", type=int, default=None, help="only the first N hand labels of the split")
    parser.add_argument("--show", action="store_true", help="print every disagreement")
    judge_opts = parser.add_argument_group("judge (optional)")
    judge_opts.add_argument("--judge-url", default=None, help="an OpenAI-compatible server's /v1 URL")
    judge_opts.add_argument("--judge-model", default=None, help="served model name (or a path with --judge-engine "
                            "vllm)")
    judge_opts.add_argument("--judge-engine", default="openai", choices=["openai", "vllm"])
    judge_opts.add_argument("--prompt-format", default="chat", choices=["chat", "completion"])
    judge_opts.add_argument("--max-tokens", type=int, default=1024)
    judge_opts.add_argument("--concurrency", type=int, default=16, help="openai: requests in flight")
    judge_opts.add_argument("--prompts-per-request", type=int, default=1, help="openai, completion format")
    judge_opts.add_argument("--batch-size", type=int, default=100, help="prompts per engine call")
    judge_opts.add_argument("--save", default=None, help="write one JSON line per labelled failure here")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.judge_model is None and args.judge_url is not None:
        parser.error("--judge-url needs --judge-model")
    if args.judge_model is not None and args.judge_engine == "openai" and args.judge_url is None:
        parser.error("--judge-model with the openai engine needs --judge-url")

    from db.session import make_engine

    engine = _build_db(Path(args.data)) if args.db is None else make_engine(args.db)
    labels = select_labels(args.split, args.limit)
    title = f"split: {args.split} ({len(labels)} failures)"
    llm = None
    judge = None
    unreadable_answers: list[str] = []
    if args.judge_model is not None:
        from analysis.engines import SamplingSettings
        from analysis.engines import make_engine as make_llm
        from analysis.judge import PromptJudge, engine_completer, parse_verdict

        try:
            if args.judge_engine == "openai":
                llm = make_llm("openai", base_url=args.judge_url, model=args.judge_model,
                               concurrency=args.concurrency, prompts_per_request=args.prompts_per_request)
                llm.check()  # type: ignore[attr-defined]
            else:
                llm = make_llm("vllm", model_path=args.judge_model)
        except EngineError as exc:
            sys.exit(f"error: {exc}")
        complete = engine_completer(llm, SamplingSettings(temperature=0.0, max_tokens=args.max_tokens),
                                    chat=args.prompt_format == "chat")

        def complete_many(prompts: list[str]) -> list[str]:
            texts = complete(prompts)
            unreadable_answers.extend(t for t in texts if parse_verdict(t) is None)
            return texts

        judge = PromptJudge(complete_many=complete_many)

    def progress(done: int, total: int) -> None:
        print(f"judged {done}/{total}", file=sys.stderr, flush=True)

    try:
        result = measure(engine, labels, judge, batch_size=args.batch_size, on_progress=progress)
    except LookupError as exc:
        sys.exit(str(exc))
    except EngineError as exc:
        sys.exit(f"error: {exc}")
    finally:
        if llm is not None:
            llm.close()
    if args.show:
        print(_disagreements(result))
    print(format_measurement(result, title))
    for text in unreadable_answers[:3]:
        print(f"unreadable answer: {' '.join(text.split())[-300:]!r}")
    if args.save:
        with Path(args.save).open("w", encoding="utf-8") as fh:
            for record in result.records:
                fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


if __name__ == "__main__":
    main()
