"""Limitations in the database: seeding from the TOML file, aggregates per limitation, and issue bodies.

A response counts toward a limitation when its effective category (`response.category`) is one of the
limitation's categories, when it carries one of its flags (`response_flag`), or when it is a failure on a
benchmark of one of its domains. Counts use the latest run of each model on each benchmark; the trend uses the
latest run of each model, grouped by family, size and benchmark, in generation order.

`last_counts` on a limitation remembers what the last sync wrote, so the body can show the change since then
without changing on every sync (which would defeat "nothing written when nothing changed"):

    {"synced": {"<model>|<benchmark>": failures}, "baseline": {...} | null, "runs": [run ids],
     "fixes_pushed": {"<fix text>": done}}

`synced` is what the body showed; `baseline` what the change column compares with. Both move only when the
counts change.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session

from analysis.limitations import (
    CandidateFix,
    CountCell,
    Example,
    LimitationReport,
    LimitationSpec,
    TrendPoint,
    TrendSeries,
    body_budget,
    content_hash,
    issue_labels,
    load_limitations,
    merge_body,
    normalize_fix_text,
    parse_checkboxes,
    render_block,
)
from db.models import Benchmark, CategoryLabel, Limitation, Model, Problem, Response, ResponseFlag, Run, utcnow

log = logging.getLogger(__name__)

EXAMPLE_POOL = 200


@dataclass(frozen=True)
class SeedResult:
    inserted: int
    updated: int
    unchanged: int


def spec_of(row: Limitation) -> LimitationSpec:
    """The limitation as stored, with the done-state of its candidate fixes."""
    fixes = tuple(
        CandidateFix(text=normalize_fix_text(str(f.get("text", ""))), done=bool(f.get("done", False)))
        for f in (row.candidate_fixes or [])
        if isinstance(f, Mapping) and f.get("text")
    )
    return LimitationSpec(
        slug=row.slug, title=row.title, description=row.description, categories=tuple(row.categories or ()),
        flags=tuple(row.flags or ()), domains=tuple(row.domains or ()), candidate_fixes=fixes, milestone=row.milestone,
        close_threshold=row.close_threshold, adopt_issue=row.adopt_issue,
    )


def seed_limitations(session: Session, specs: Sequence[LimitationSpec] | None = None) -> SeedResult:
    """Insert or refresh limitations from the seed (default: `analysis/limitations.toml`), idempotently.

    The seed owns the description fields; the database owns the sync state and the done-state of fixes. Fixes
    that exist only in the database (added on GitHub) are kept after the seed's own.
    """
    specs = list(specs) if specs is not None else load_limitations()
    existing = {row.slug: row for row in session.scalars(select(Limitation))}
    inserted = updated = unchanged = 0
    for spec in specs:
        row = existing.get(spec.slug)
        seed_fixes = [{"text": f.text, "done": f.done} for f in spec.candidate_fixes]
        if row is None:
            session.add(Limitation(
                slug=spec.slug, title=spec.title, description=spec.description, categories=list(spec.categories),
                flags=list(spec.flags), domains=list(spec.domains), candidate_fixes=seed_fixes,
                milestone=spec.milestone, status="open", close_threshold=spec.close_threshold,
                adopt_issue=spec.adopt_issue,
            ))
            inserted += 1
            continue
        done = {normalize_fix_text(str(f.get("text", ""))): bool(f.get("done")) for f in row.candidate_fixes or []}
        fixes = [{"text": f["text"], "done": done.get(f["text"], False)} for f in seed_fixes]
        seed_texts = {f["text"] for f in seed_fixes}
        fixes += [{"text": t, "done": d} for t, d in done.items() if t and t not in seed_texts]
        new = {
            "title": spec.title, "description": spec.description, "categories": list(spec.categories),
            "flags": list(spec.flags), "domains": list(spec.domains), "candidate_fixes": fixes,
            "milestone": spec.milestone, "close_threshold": spec.close_threshold, "adopt_issue": spec.adopt_issue,
        }
        changed = {k: v for k, v in new.items() if getattr(row, k) != v}
        for k, v in changed.items():
            setattr(row, k, v)
        if changed:
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return SeedResult(inserted, updated, unchanged)


def list_limitations(session: Session) -> list[Limitation]:
    return list(session.scalars(select(Limitation).order_by(Limitation.id)))


def _matches(spec: LimitationSpec) -> ColumnElement[bool]:
    """SQL condition: this response counts toward the limitation (needs Run and Benchmark joined)."""
    conds: list[ColumnElement[bool]] = []
    if spec.categories:
        conds.append(Response.category.in_(spec.categories))
    if spec.flags:
        conds.append(
            exists().where(ResponseFlag.response_id == Response.id, ResponseFlag.flag.in_(spec.flags))
        )
    if spec.domains:
        conds.append(and_(Benchmark.domain.in_(spec.domains), Response.correct.is_(False)))
    return or_(*conds) if conds else false()


@dataclass(frozen=True)
class _RunInfo:
    run_id: int
    model: str
    family: str
    size: str
    generation: str
    size_b: float | None
    benchmark: str
    started_at: datetime | None
    responses: int


def _runs(session: Session) -> list[_RunInfo]:
    totals = dict(session.execute(select(Response.run_id, func.count()).group_by(Response.run_id)).all())
    rows = session.execute(
        select(Run.id, Model.name, Model.family, Model.size, Model.generation, Model.size_b, Benchmark.name,
               Run.started_at)
        .join(Model, Model.id == Run.model_id)
        .join(Benchmark, Benchmark.id == Run.benchmark_id)
        .order_by(Run.id)
    ).all()
    return [_RunInfo(r[0], r[1], r[2] or "", r[3] or "", r[4] or "", r[5], r[6], r[7], int(totals.get(r[0], 0)))
            for r in rows if totals.get(r[0])]


def _latest(runs: Iterable[_RunInfo]) -> dict[tuple[str, str], _RunInfo]:
    """The latest run of each (model, benchmark)."""
    out: dict[tuple[str, str], _RunInfo] = {}
    for r in runs:
        key = (r.model, r.benchmark)
        cur = out.get(key)
        if cur is None or (_ts(r), r.run_id) > (_ts(cur), cur.run_id):
            out[key] = r
    return out


def _ts(r: _RunInfo) -> float:
    return r.started_at.timestamp() if r.started_at else 0.0


def failures_by_run(session: Session, spec: LimitationSpec) -> dict[int, int]:
    if not spec.has_signal:
        return {}
    rows = session.execute(
        select(Response.run_id, func.count(Response.id))
        .join(Run, Run.id == Response.run_id)
        .join(Benchmark, Benchmark.id == Run.benchmark_id)
        .where(_matches(spec))
        .group_by(Response.run_id)
    ).all()
    return {run_id: int(n) for run_id, n in rows}


def _examples(session: Session, spec: LimitationSpec, run_ids: Sequence[int]) -> tuple[Example, ...]:
    """3-5 representative failures from the latest runs: rule-label evidence first, one category at a time."""
    if not spec.has_signal or not run_ids:
        return ()
    rows = session.execute(
        select(Response.id, Response.category, Response.extracted, Response.published_extracted, Model.name,
               Benchmark.name, Problem.key, Problem.question, Problem.reference_answer)
        .join(Run, Run.id == Response.run_id)
        .join(Model, Model.id == Run.model_id)
        .join(Benchmark, Benchmark.id == Run.benchmark_id)
        .join(Problem, Problem.id == Response.problem_id)
        .where(Response.run_id.in_(run_ids), _matches(spec))
        .order_by(Response.id)
        .limit(EXAMPLE_POOL)
    ).all()
    if not rows:
        return ()
    ids = [r[0] for r in rows]
    evidence: dict[int, CategoryLabel] = {}
    for lab in session.scalars(
        select(CategoryLabel).where(CategoryLabel.response_id.in_(ids)).order_by(CategoryLabel.id)
    ):
        if lab.source == "rule" or lab.response_id not in evidence:
            evidence[lab.response_id] = lab
    # Round-robin over categories so a limitation with several shows each; evidence-bearing responses first.
    # Within a category, the first failure of each model x benchmark comes before a second from the same one.
    by_cat: dict[str, list[Any]] = defaultdict(list)
    seen_pairs: dict[tuple[str, str, str], int] = defaultdict(int)
    ranked = []
    for r in sorted(rows, key=lambda r: (0 if evidence.get(r[0]) and evidence[r[0]].evidence else 1, r[0])):
        pair = (r[1] or "", r[4], r[5])
        ranked.append((seen_pairs[pair], r))
        seen_pairs[pair] += 1
    for _, r in sorted(ranked, key=lambda t: t[0]):
        by_cat[r[1] or ""].append(r)
    order = sorted(by_cat, key=lambda c: (spec.categories.index(c) if c in spec.categories else len(spec.categories),
                                          c))
    picked: list[Any] = []
    while len(picked) < 5 and any(by_cat[c] for c in order):
        for c in order:
            if by_cat[c] and len(picked) < 5:
                picked.append(by_cat[c].pop(0))
    out = []
    for r in picked:
        lab = evidence.get(r[0])
        out.append(Example(
            response_id=r[0], model=r[4], benchmark=r[5], problem_key=r[6], question=r[7], category=r[1],
            answer=r[2] if r[2] is not None else r[3], gold=r[8],
            evidence=dict(lab.evidence or {}) if lab else {}, first_error_step=lab.first_error_step if lab else None,
        ))
    return tuple(out)


@dataclass(frozen=True)
class LimitationState:
    """Everything the sync needs about one limitation, computed from the database."""

    spec: LimitationSpec
    report: LimitationReport
    current: dict[str, int]  # failures per "model|benchmark" in the latest runs
    run_ids: tuple[int, ...]
    regression: str | None  # failures in runs newer than the last sync, described
    below_threshold: bool


def limitation_state(session: Session, row: Limitation) -> LimitationState:
    spec = spec_of(row)
    runs = _runs(session)
    failures = failures_by_run(session, spec)
    latest = _latest(runs)
    current = {f"{m}|{b}": failures.get(r.run_id, 0) for (m, b), r in latest.items()}
    memory = row.last_counts or {}
    synced: dict[str, int] | None = memory.get("synced")
    compare = memory.get("baseline") if synced is not None and synced == current else synced
    counts = tuple(
        CountCell(model=m, benchmark=b, failures=failures.get(r.run_id, 0), responses=r.responses,
                  previous=(compare or {}).get(f"{m}|{b}") if compare is not None else None)
        for (m, b), r in sorted(latest.items())
    ) if spec.has_signal else ()
    # Trend: the latest run of each model, grouped by family, size and benchmark, in generation order.
    groups: dict[tuple[str, str, str], list[_RunInfo]] = defaultdict(list)
    for r in latest.values():
        groups[(r.family or r.model, r.size, r.benchmark)].append(r)
    trends = tuple(
        TrendSeries(family=fam, size=size, benchmark=bench, points=tuple(
            TrendPoint(model=r.model, generation=r.generation, failures=failures.get(r.run_id, 0),
                       responses=r.responses)
            for r in sorted(members, key=lambda r: (r.generation, _ts(r), r.run_id))
        ))
        for (fam, size, bench), members in sorted(groups.items())
    ) if spec.has_signal else ()
    # Scale: one generation of a family across sizes, smallest first.
    by_gen: dict[tuple[str, str, str], list[_RunInfo]] = defaultdict(list)
    for r in latest.values():
        by_gen[(r.family or r.model, r.generation, r.benchmark)].append(r)
    scales = tuple(
        TrendSeries(family=gen or fam, size="", benchmark=bench, points=tuple(
            TrendPoint(model=r.model, generation=r.size or r.model, failures=failures.get(r.run_id, 0),
                       responses=r.responses)
            for r in sorted(members, key=lambda r: (r.size_b if r.size_b is not None else float("inf"), r.model))
        ))
        for (fam, gen, bench), members in sorted(by_gen.items())
    ) if spec.has_signal else ()
    examples = _examples(session, spec, [r.run_id for r in latest.values()])
    report = LimitationReport(spec=spec, counts=counts, trends=trends, examples=examples,
                              runs_considered=len(latest), scales=scales)
    seen = set(memory.get("runs") or [])
    regression = None
    if seen and spec.has_signal:
        new = [r for r in runs if r.run_id not in seen and failures.get(r.run_id, 0) > spec.close_threshold]
        if new:
            regression = "New runs with failures: " + "; ".join(
                f"{r.model} on {r.benchmark}: {failures[r.run_id]} of {r.responses} responses" for r in new
            ) + "."
    # "Fell": only a limitation that had more failures at an earlier sync is proposed for closing.
    earlier = max(sum((memory.get(k) or {}).values()) for k in ("synced", "baseline"))
    below = spec.has_signal and bool(counts) and earlier > spec.close_threshold >= sum(current.values())
    return LimitationState(spec=spec, report=report, current=current, run_ids=tuple(r.run_id for r in runs),
                           regression=regression, below_threshold=below)


def render_limitation_block(session: Session, row: Limitation, *, dashboard_url: str | None = None,
                            existing_body: str | None = None) -> str:
    """The managed block of the limitation's issue body, as the next sync would write it."""
    state = limitation_state(session, row)
    return render_block(state.report, dashboard_url=dashboard_url, max_chars=body_budget(existing_body))


def read_back(session: Session, row: Limitation, *, number: int, url: str, state: str, body: str) -> list[str]:
    """Take what people changed on GitHub into the database; return what changed, for logging.

    Issue state always comes from GitHub. A checkbox wins from GitHub when it differs from what the last sync
    pushed (a person ticked it there); otherwise the database's value stands (it may have been ticked in the
    dashboard). Checkboxes that exist only on GitHub are added as new candidate fixes.
    """
    changes: list[str] = []
    if row.issue_number != number:
        changes.append(f"issue #{number}")
        row.issue_number = number
    row.issue_url = url or row.issue_url
    if row.issue_state != state:
        changes.append(f"state {row.issue_state} -> {state}")
        row.issue_state = state
    status = "mitigated" if state == "closed" else "open"
    if row.status != status:
        row.status = status
    on_github = parse_checkboxes(body)
    pushed: dict[str, bool] = dict((row.last_counts or {}).get("fixes_pushed") or {})
    fixes = [dict(f) for f in row.candidate_fixes or []]
    known = set()
    for f in fixes:
        text = normalize_fix_text(str(f.get("text", "")))
        known.add(text)
        if text in on_github and on_github[text] != pushed.get(text, bool(f.get("done"))) \
                and on_github[text] != bool(f.get("done")):
            f["done"] = on_github[text]
            changes.append(f"fix {'ticked' if f['done'] else 'unticked'}: {text}")
    for text, done in on_github.items():
        if text not in known:
            fixes.append({"text": text, "done": done})
            changes.append(f"fix added on GitHub: {text}")
    if fixes != list(row.candidate_fixes or []):
        row.candidate_fixes = fixes
    return changes


def record_sync(session: Session, row: Limitation, state: LimitationState, *, number: int, url: str,
                issue_state: str, content_hash: str) -> None:
    """Remember what was written (or found unchanged), so the next sync can tell what changed."""
    memory = dict(row.last_counts or {})
    synced = memory.get("synced")
    if synced != state.current:
        memory["baseline"] = synced
        memory["synced"] = state.current
    memory["runs"] = list(state.run_ids)
    memory["fixes_pushed"] = {f.text: f.done for f in state.spec.candidate_fixes}
    row.last_counts = memory
    row.issue_number = number
    row.issue_url = url
    row.issue_state = issue_state
    row.status = "mitigated" if issue_state == "closed" else "open"
    row.content_hash = content_hash
    row.last_synced_at = utcnow()


# --- the dashboard's view -------------------------------------------------------------------------------------------


class UnknownLimitationError(LookupError):
    """No limitation has this slug, or it has no candidate fix with this text."""


@dataclass(frozen=True)
class LimitationView:
    """One limitation as the dashboard shows it: its stored sync state and what the next sync would render.

    `body` is the issue body a sync would write for a new issue (the managed block alone); `rendered_hash` is
    its content hash, which is what the last sync recorded when the issue is one abel-triage created and
    nobody edited outside the block. For an adopted or hand-edited issue only a dry run against GitHub tells
    for sure whether an update is due.
    """

    spec: LimitationSpec
    report: LimitationReport
    status: str
    issue_number: int | None
    issue_url: str | None
    issue_state: str | None
    last_synced_at: datetime | None
    synced_hash: str | None
    rendered_hash: str
    body: str
    regression: str | None
    below_threshold: bool

    @property
    def content_changed(self) -> bool | None:
        """Whether the rendered content differs from the last sync's; None when never synced."""
        return None if self.synced_hash is None else self.synced_hash != self.rendered_hash


def limitation_views(session: Session, *, dashboard_url: str | None = None) -> list[LimitationView]:
    """Every limitation with its counts, trend, rendered body and sync state (reads only)."""
    views = []
    for row in list_limitations(session):
        state = limitation_state(session, row)
        body = merge_body(None, render_block(state.report, dashboard_url=dashboard_url, max_chars=body_budget(None)))
        views.append(LimitationView(
            spec=state.spec, report=state.report, status=row.status, issue_number=row.issue_number,
            issue_url=row.issue_url, issue_state=row.issue_state, last_synced_at=row.last_synced_at,
            synced_hash=row.content_hash,
            rendered_hash=content_hash(row.title, body, issue_labels(state.spec), row.milestone),
            body=body, regression=state.regression, below_threshold=state.below_threshold,
        ))
    return views


def set_fix_done(session: Session, slug: str, text: str, done: bool) -> bool:
    """Tick or untick one candidate fix (the next sync pushes it to GitHub); returns whether anything changed."""
    row = session.scalars(select(Limitation).where(Limitation.slug == slug)).one_or_none()
    if row is None:
        raise UnknownLimitationError(f"no limitation {slug!r}")
    wanted = normalize_fix_text(text)
    fixes = [dict(f) for f in row.candidate_fixes or []]
    for f in fixes:
        if normalize_fix_text(str(f.get("text", ""))) == wanted:
            if bool(f.get("done")) == done:
                return False
            f["done"] = done
            row.candidate_fixes = fixes  # a new list, so the JSON column is seen as changed
            session.flush()
            return True
    raise UnknownLimitationError(f"limitation {slug!r} has no candidate fix {wanted!r}")

