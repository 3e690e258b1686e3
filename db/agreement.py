"""Rules vs people: how often the machine's category agrees with the labels people gave, and bringing in labels.

`agreement_report` pairs every failure that has a `human` label (the newest one, as in `db.labels`) with the
machine's label of the same failure and measures them with `analysis.categorize.agreement` (the code that
measures the categorizer against the hand labels in tests/data): accuracy, per-category precision and recall,
confusion counts, first-error-step agreement, and every disagreement so a person can open it. The machine's label
is the current `rule` label (`source="rule"`), the newest `judge` label (`"judge"`: only failures a judge was asked
about), or what the charts show for failures nobody labelled (`"rule+judge"`: the judge's label where there is
one, else the rule's).

`import_human_labels` stores labels made elsewhere as `human` labels, one JSON object per line naming a failure
by `"response_id"`, by `"model"` + `"benchmark"` + `"key"`, or by `"run"` + `"key"` where the run is
"<benchmark>/<size>" as the Abel import and tests/data/categorize_dev_labels.jsonl name them; with `"category"`
(a `Category` value), optionally `"first_error_step"` and `"rationale"` (or `"note"`). A bad line is a line error
and every other line is stored; a label already present (same failure, category, step, note and author) is
skipped, so importing a file twice adds nothing. Each batch is one transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from analysis.categorize.agreement import Agreement, HandLabel, Prediction, measure_agreement
from analysis.jsonl import iter_json_file
from analysis.types import Category, LabelSource, LineError
from db.categorize import failure_condition
from db.labels import add_label, recency, refresh_effective_category
from db.models import Benchmark, CategoryLabel, Model, Problem, Response, Run
from db.queries import Filters, run_ids
from db.session import session_scope

SOURCES = ("rule", "judge", "rule+judge")
BATCH_SIZE = 500
ABEL_RUN_PREFIX = "import:abel:"  # run keys of `import abel` (see analysis.abel_outputs.AbelFile.run_key)
_CATEGORIES = tuple(c.value for c in Category)


# ---------------------------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class _Human:
    label_id: int
    created_at: datetime
    response_id: int
    run_id: int
    model: str
    benchmark: str
    key: str
    category: str
    step: int | None
    author: str | None
    note: str | None


@dataclass(frozen=True)
class _Machine:
    label_id: int
    created_at: datetime
    source: str
    category: str
    step: int | None
    version: str | None


def _chunks(ids: Sequence[int], size: int = BATCH_SIZE) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _newest_human_labels(engine: Engine, run_id: int | None, runs: list[int] | None) -> dict[int, _Human]:
    """The newest human label of every failure in scope (newest: latest created_at, then highest id)."""
    stmt = (
        select(CategoryLabel.id, CategoryLabel.created_at, CategoryLabel.response_id, Response.run_id,
               Model.name, Benchmark.name, Problem.key, CategoryLabel.category, CategoryLabel.first_error_step,
               CategoryLabel.author, CategoryLabel.note)
        .join(Response, Response.id == CategoryLabel.response_id)
        .join(Run, Run.id == Response.run_id)
        .join(Model, Model.id == Run.model_id)
        .join(Benchmark, Benchmark.id == Run.benchmark_id)
        .join(Problem, Problem.id == Response.problem_id)
        .where(CategoryLabel.source == LabelSource.HUMAN.value, failure_condition())
    )
    if run_id is not None:
        stmt = stmt.where(Response.run_id == run_id)
    newest: dict[int, _Human] = {}
    with engine.connect() as conn:
        for chunk in [None] if runs is None else _chunks(runs):
            scoped = stmt if chunk is None else stmt.where(Response.run_id.in_(chunk))
            for row in conn.execute(scoped):
                human = _Human(*row)
                old = newest.get(human.response_id)
                if old is None or recency(human.created_at, human.label_id) > recency(old.created_at, old.label_id):
                    newest[human.response_id] = human
    return newest


def _machine_labels(engine: Engine, response_ids: Sequence[int]) -> dict[int, dict[str, _Machine]]:
    """response id -> {"rule": newest rule label, "judge": newest judge label} (each only when present)."""
    out: dict[int, dict[str, _Machine]] = {}
    stmt = select(CategoryLabel.response_id, CategoryLabel.id, CategoryLabel.created_at, CategoryLabel.source,
                  CategoryLabel.category, CategoryLabel.first_error_step, CategoryLabel.categorizer_version)
    with engine.connect() as conn:
        for chunk in _chunks(sorted(response_ids)):
            rows = conn.execute(stmt.where(
                CategoryLabel.response_id.in_(chunk),
                CategoryLabel.source.in_([LabelSource.RULE.value, LabelSource.JUDGE.value]),
            ))
            for rid, *rest in rows:
                lab = _Machine(*rest)
                mine = out.setdefault(rid, {})
                old = mine.get(lab.source)
                if old is None or recency(lab.created_at, lab.label_id) > recency(old.created_at, old.label_id):
                    mine[lab.source] = lab
    return out


def _pick(labels: dict[str, _Machine], source: str) -> _Machine | None:
    if source == "rule+judge":
        return labels.get(LabelSource.JUDGE.value) or labels.get(LabelSource.RULE.value)
    return labels.get(source)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def agreement_report(
    engine: Engine, *, run_id: int | None = None, source: str = "rule", filters: Filters | None = None
) -> dict[str, Any]:
    """How often the machine's category (see the module docstring for `source`) agrees with people's.

    Scope: failures (as `db.categorize` counts them) with a human label, in run `run_id` and the runs matching
    `filters` when given. Returns a JSON-ready dict:
    `human_labelled` failures in scope, of which `n` have a machine label of `source` (`unpaired` have none, e.g.
    not categorized yet), `agreed`, `accuracy`; `categories`: per category (most often labelled by people first)
    precision as `right` / `predicted` and recall as `found` / `labelled`; `confusion`: (human, predicted, n);
    `first_error_step`: `both` (category agrees and both give a step), `agreed` (... and the steps are equal),
    `human_with_step`; `categorizer_versions` of the rule labels compared; `with_judge`: human-labelled failures
    that also have a judge label; `disagreements`: one object per failure whose categories differ.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose one of: {', '.join(SOURCES)}")
    runs = None
    if filters is not None and (filters.models or filters.benchmarks or filters.domains):
        runs = run_ids(engine, filters)
    humans = _newest_human_labels(engine, run_id, runs) if runs != [] else {}
    machine = _machine_labels(engine, list(humans))
    pairs: list[tuple[HandLabel, Prediction]] = []
    versions: Counter[str] = Counter()
    disagreements: list[dict[str, Any]] = []
    for rid in sorted(humans):
        human = humans[rid]
        predicted = _pick(machine.get(rid, {}), source)
        if predicted is None:
            continue
        hand = HandLabel(f"{human.benchmark}/{human.model}", human.key, human.category, human.step, human.note or "",
                         split="human")
        pairs.append((hand, Prediction(predicted.category, predicted.step)))
        if predicted.source == LabelSource.RULE.value:
            versions[predicted.version or "unknown"] += 1
        if human.category != predicted.category:
            disagreements.append({
                "response_id": rid, "run_id": human.run_id, "model": human.model, "benchmark": human.benchmark,
                "key": human.key, "human": human.category, "human_step": human.step, "predicted": predicted.category,
                "predicted_step": predicted.step, "predicted_source": predicted.source,
                "author": human.author, "note": human.note,
            })
    agreement = measure_agreement(pairs)
    categories = []
    for cat in agreement.categories():
        right, predicted_n = agreement.precision(cat)
        found, labelled = agreement.recall(cat)
        categories.append({"category": cat, "right": right, "predicted": predicted_n,
                           "precision": _ratio(right, predicted_n), "found": found, "labelled": labelled,
                           "recall": _ratio(found, labelled)})
    return {
        "source": source,
        "run_id": run_id,
        "human_labelled": len(humans),
        "n": agreement.n,
        "unpaired": len(humans) - agreement.n,
        "agreed": agreement.correct,
        "accuracy": agreement.accuracy if agreement.n else None,
        "categories": categories,
        "confusion": [{"human": h, "predicted": p, "n": n}
                      for (h, p), n in sorted(agreement.confusion.items(), key=lambda kv: (-kv[1], kv[0]))],
        "first_error_step": {"both": agreement.step_both, "agreed": agreement.step_agree,
                             "human_with_step": sum(h.first_error_step is not None for h, _ in pairs)},
        "categorizer_versions": dict(versions.most_common()),
        "with_judge": sum(LabelSource.JUDGE.value in machine.get(rid, {}) for rid in humans),
        "disagreements": disagreements,
    }


def agreement_from_report(report: dict[str, Any]) -> Agreement:
    """The `Agreement` behind a report (for `format_agreement`)."""
    confusion = Counter({(c["human"], c["predicted"]): int(c["n"]) for c in report["confusion"]})
    steps = report["first_error_step"]
    return Agreement(report["n"], report["agreed"], confusion, steps["both"], steps["agreed"])


_SOURCE_WORDS = {"rule": "the rule category", "judge": "the judge's category",
                 "rule+judge": "the machine category (judge, else rule)"}


def agreement_headline(report: dict[str, Any]) -> str:
    """One sentence: "People have labelled N failures; the rule category agreed on X (Y%)."."""
    labelled, n, what = report["human_labelled"], report["n"], _SOURCE_WORDS[report["source"]]
    if not labelled:
        return "No failure has a human label yet."
    head = f"People have labelled {labelled:,} failure{'s' if labelled != 1 else ''}; "
    if not n:
        return head + f"none of them has {what.replace('the ', 'a ', 1)} yet."
    of = "" if n == labelled else f" of the {n:,} that have one"
    return head + f"{what} agreed on {report['agreed']:,}{of} ({report['accuracy']:.1%})."


# ---------------------------------------------------------------------------------------------- importing labels


@dataclass(frozen=True)
class LabelLine:
    """One parsed line of a labels file. Exactly one way of naming the failure is set."""

    line: int
    category: str
    first_error_step: int | None
    note: str | None
    response_id: int | None = None
    model: str | None = None  # with benchmark and key
    run: tuple[str, str] | None = None  # (benchmark, size in lower case), with key
    benchmark: str | None = None
    key: str | None = None

    @property
    def bench(self) -> str:
        return self.benchmark if self.benchmark is not None else (self.run or ("", ""))[0]

    def describe(self) -> str:
        if self.response_id is not None:
            return f"response {self.response_id}"
        if self.model is not None:
            return f"{self.model} on {self.benchmark}, key {self.key!r}"
        assert self.run is not None
        return f"run {self.run[0]}/{self.run[1]}, key {self.key!r}"


def _text(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise ValueError(f'"{name}" must be a non-empty string')
    return str(value).strip()


def parse_label_line(line: int, raw: dict[str, Any]) -> LabelLine:
    """A `LabelLine` from one JSON object; raises ValueError with a one-line reason.

    The failure is named by the first of these the line has: "response_id"; "model" + "benchmark" + "key";
    "run" ("<benchmark>/<size>") + "key". Other fields ("split", ...) are ignored."""
    category = raw.get("category")
    if category not in _CATEGORIES:
        raise ValueError(f"unknown category {category!r} (expected one of: {', '.join(_CATEGORIES)})")
    step = raw.get("first_error_step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 1):
        raise ValueError(f'"first_error_step" must be a step number (1, 2, ...) or null, not {step!r}')
    note = raw.get("rationale", raw.get("note"))
    if note is not None and not isinstance(note, str):
        raise ValueError('"rationale" (or "note") must be a string')
    base: dict[str, Any] = {"line": line, "category": category, "first_error_step": step, "note": note or None}
    if "response_id" in raw:
        rid = raw["response_id"]
        if isinstance(rid, str) and rid.strip().isdigit():
            rid = int(rid)
        if isinstance(rid, bool) or not isinstance(rid, int):
            raise ValueError(f'"response_id" must be a number, not {rid!r}')
        return LabelLine(**base, response_id=rid)
    if "model" in raw:
        return LabelLine(**base, model=_text(raw, "model"), benchmark=_text(raw, "benchmark"), key=_text(raw, "key"))
    if "run" in raw:
        bench, _, size = _text(raw, "run").partition("/")
        if not bench or not size or "/" in size:
            raise ValueError(f'"run" must be "<benchmark>/<size>" (e.g. "gsm8k/7b"), not {raw["run"]!r}')
        return LabelLine(**base, run=(bench, size.lower()), key=_text(raw, "key"))
    raise ValueError('name the failure: "response_id", or "model" + "benchmark" + "key", or "run" + "key"')


@dataclass
class LabelImport:
    imported: int = 0
    skipped: int = 0  # already present (or repeated in the file)
    errors: list[LineError] = field(default_factory=list)


def read_label_lines(path: Path) -> tuple[list[LabelLine], list[LineError]]:
    """Every line of a labels file, parsed; a bad line becomes a LineError (FILE:LINE: message)."""
    lines: list[LabelLine] = []
    errors: list[LineError] = []
    for number, value in iter_json_file(path):
        if isinstance(value, LineError):
            errors.append(value)
            continue
        try:
            if not isinstance(value, dict):
                raise ValueError(f"expected a JSON object, got {type(value).__name__}")
            lines.append(parse_label_line(number, value))
        except ValueError as exc:
            errors.append(LineError(str(path), number, str(exc)))
    return lines, errors


def _resolve(session: Session, lines: list[LabelLine]) -> dict[int, list[int]]:
    """line number -> the failures it names (one when resolved; none or several is an error)."""
    out: dict[int, list[int]] = {}
    by_id = [ln for ln in lines if ln.response_id is not None]
    if by_id:
        found = set(session.scalars(select(Response.id).where(
            Response.id.in_([ln.response_id for ln in by_id]), failure_condition())))
        for ln in by_id:
            out[ln.line] = [ln.response_id] if ln.response_id in found else []
    named = [ln for ln in lines if ln.response_id is None]
    if not named:
        return out
    stmt = (
        select(Response.id, Model.name, Benchmark.name, Model.size, Problem.key, Run.run_key)
        .join(Problem, Problem.id == Response.problem_id)
        .join(Run, Run.id == Response.run_id)
        .join(Model, Model.id == Run.model_id)
        .join(Benchmark, Benchmark.id == Run.benchmark_id)
        .where(failure_condition(), Problem.key.in_(sorted({str(ln.key) for ln in named})),
               Benchmark.name.in_(sorted({ln.bench for ln in named})))
        .order_by(Response.id)
    )
    by_model: dict[tuple[str, str, str], list[int]] = {}
    by_run: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
    for rid, model, bench, size, key, run_key in session.execute(stmt):
        by_model.setdefault((model, bench, key), []).append(rid)
        by_run.setdefault((bench, (size or "").lower(), key), []).append((rid, run_key))
    for ln in named:
        if ln.model is not None:
            out[ln.line] = by_model.get((ln.model, str(ln.benchmark), str(ln.key)), [])
            continue
        assert ln.run is not None
        found_runs = by_run.get((*ln.run, str(ln.key)), [])
        abel = [rid for rid, run_key in found_runs if run_key.startswith(ABEL_RUN_PREFIX)]
        # "gsm8k/7b" names Abel's published run; another run of the same size (a rerun) does not make it ambiguous.
        out[ln.line] = abel if len(found_runs) > 1 and len(abel) == 1 else [rid for rid, _ in found_runs]
    return out


def import_human_labels(
    engine: Engine,
    path: Path,
    *,
    author: str,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int, int], None] | None = None,
) -> LabelImport:
    """Store the labels of a labels file (see the module docstring) as `human` labels by `author`.

    Raises FileNotFoundError / OSError / UnicodeDecodeError when the file cannot be read (nothing is stored then).
    `on_batch(done, total)` is called after each committed batch."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    lines, errors = read_label_lines(Path(path))
    result = LabelImport(errors=errors)
    for start in range(0, len(lines), batch_size):
        batch = lines[start : start + batch_size]
        with session_scope(engine) as session:
            resolved = _resolve(session, batch)
            ids = sorted({rid for rids in resolved.values() for rid in rids})
            present: set[tuple[Any, ...]] = set()
            for chunk in _chunks(ids):
                present.update(tuple(row) for row in session.execute(
                    select(CategoryLabel.response_id, CategoryLabel.category, CategoryLabel.first_error_step,
                           CategoryLabel.note, CategoryLabel.author)
                    .where(CategoryLabel.source == LabelSource.HUMAN.value, CategoryLabel.response_id.in_(chunk))
                ))
            touched: list[int] = []
            for ln in batch:
                rids = resolved.get(ln.line, [])
                if len(rids) != 1:
                    what = (f"matches {len(rids)} failures (responses {', '.join(map(str, rids[:5]))}"
                            f"{', ...' if len(rids) > 5 else ''}); name it by \"response_id\"" if rids
                            else "is not a failure in the database")
                    result.errors.append(LineError(str(path), ln.line, f"{ln.describe()} {what}"))
                    continue
                label = (rids[0], ln.category, ln.first_error_step, ln.note, author)
                if label in present:
                    result.skipped += 1
                    continue
                add_label(session, rids[0], ln.category, source=LabelSource.HUMAN, confidence=1.0,
                          first_error_step=ln.first_error_step, author=author, note=ln.note, refresh=False)
                present.add(label)
                touched.append(rids[0])
                result.imported += 1
            refresh_effective_category(session, touched)
        if on_batch is not None:
            on_batch(min(start + batch_size, len(lines)), len(lines))
    result.errors.sort(key=lambda e: e.line)
    return result


__all__ = [
    "SOURCES", "LabelImport", "LabelLine", "agreement_from_report", "agreement_headline", "agreement_report",
    "import_human_labels", "parse_label_line", "read_label_lines",
]
