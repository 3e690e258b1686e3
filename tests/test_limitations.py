"""Limitations: the seed file, seeding the database, aggregates per limitation, and the rendered issue body."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from analysis.limitations import (
    BLOCK_BEGIN,
    BLOCK_END,
    GITHUB_BODY_LIMIT,
    CandidateFix,
    CountCell,
    Example,
    LimitationConfigError,
    LimitationReport,
    LimitationSpec,
    find_marker,
    load_limitations,
    md_code,
    md_text,
    merge_body,
    parse_checkboxes,
    render_block,
)
from analysis.types import Category, Flag
from db.labels import add_label
from db.limitations import limitation_state, read_back, record_sync, seed_limitations
from db.models import Limitation, Problem, Response, ResponseFlag, Run
from db.session import session_scope
from db.store import ensure_benchmark, ensure_model

T0 = datetime(2026, 1, 1, tzinfo=UTC)


# --- data builder shared with test_github_sync ----------------------------------------------------------------


def add_run(session: Session, *, model: str, generation: str, benchmark: str, domain: str,
            outcomes: list[str | None], started: datetime, flags: dict[int, str] | None = None,
            questions: list[str] | None = None, evidence: dict | None = None) -> Run:
    """A run of `model` on `benchmark`: one response per outcome (None = correct, else a category)."""
    bench = ensure_benchmark(session, benchmark, domain=domain, answer_type="number")
    size = model.split("-")[1]
    mdl = ensure_model(session, model, family="Abel", size=size, size_b=float(size.rstrip("B")),
                       generation=generation)
    run = Run(run_key=f"test:{model}:{benchmark}:{started.isoformat()}", model_id=mdl.id, benchmark_id=bench.id,
              source="synthetic", started_at=started, status="finished")
    session.add(run)
    session.flush()
    for i, outcome in enumerate(outcomes):
        key = f"q{i}"
        problem = session.scalar(select(Problem).where(Problem.benchmark_id == bench.id, Problem.key == key))
        if problem is None:
            q = questions[i] if questions and i < len(questions) else f"Tom has {i + 3} apples and buys 12 * 15 more."
            problem = Problem(benchmark_id=bench.id, key=key, question=q, reference_answer="180")
            session.add(problem)
            session.flush()
        resp = Response(run_id=run.id, problem_id=problem.id, text="12 * 15 = 170\n#### 170",
                        extracted=None if outcome is None else "170", correct=outcome is None,
                        status="correct" if outcome is None else "incorrect")
        session.add(resp)
        session.flush()
        if outcome is not None:
            ev = evidence if evidence is not None else {"step": 1, "expression": "12 * 15", "claimed": "170",
                                                        "actual": "180"}
            add_label(session, resp.id, outcome, source="rule", evidence=ev, first_error_step=ev.get("step"))
        if flags and i in flags:
            session.add(ResponseFlag(response_id=resp.id, flag=flags[i]))
    session.flush()
    return run


def build_abel_like(engine: Engine) -> None:
    """Abel-7B-001 then Abel-7B-002 on GSM8K, a robustness set and an out-of-domain set."""
    with session_scope(engine) as s:
        seed_limitations(s)
        add_run(s, model="Abel-7B-001", generation="Abel-001", benchmark="gsm8k", domain="in_domain",
                outcomes=["arithmetic", "arithmetic", "reasoning", "truncated", None, None], started=T0)
        add_run(s, model="Abel-7B-002", generation="Abel-002", benchmark="gsm8k", domain="in_domain",
                outcomes=["arithmetic", None, "missing_step", None, None, None], started=T0 + timedelta(days=1))
        add_run(s, model="Abel-7B-001", generation="Abel-001", benchmark="gsm8k_robust", domain="robustness",
                outcomes=["memorized_original", "arithmetic", None], flags={1: "robustness_flip"}, started=T0)
        add_run(s, model="Abel-7B-001", generation="Abel-001", benchmark="tal_scq5k_en", domain="out_of_domain",
                outcomes=["reasoning", "invalid_answer", None, None], started=T0)


def limitation(session: Session, slug: str) -> Limitation:
    return session.scalars(select(Limitation).where(Limitation.slug == slug)).one()


# --- seed file ---------------------------------------------------------------------------------------------------


def test_seed_file_covers_abel_and_taxonomy() -> None:
    specs = {s.slug: s for s in load_limitations()}
    for slug in ("robustness", "generalization", "universality", "multilinguality", "advanced-techniques"):
        assert slug in specs
    assert "memorized_original" in specs["robustness"].categories
    assert specs["robustness"].flags == ("robustness_flip",)
    assert specs["generalization"].domains == ("out_of_domain",)
    assert specs["calculation-reliability"].categories == ("arithmetic",)
    assert set(specs["problem-understanding"].categories) == {"reasoning", "misread_quantity", "missing_step",
                                                              "unit_conversion"}
    assert set(specs["generation-control"].categories) == {"truncated", "repetition", "no_final_answer",
                                                           "invalid_answer", "option_mapping"}
    mapped = {c for spec in specs.values() for c in spec.categories}
    assert mapped == {c.value for c in Category}, "every failure category rolls up into some limitation"
    assert set(specs["benchmark-quality"].categories) == {"gold_suspect", "grader_miss"}
    for spec in specs.values():
        assert spec.milestone == "Bernoulli"
        assert spec.candidate_fixes, spec.slug
        assert all(c in {x.value for x in Category} for c in spec.categories)
        assert all(f in {x.value for x in Flag} for f in spec.flags)
    assert not specs["universality"].has_signal and not specs["multilinguality"].has_signal


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[limitation]]\nslug = "x"\ntitle = "X"\ncategories = ["arithmetc"]\n', "unknown category"),
        ('[[limitation]]\nslug = "x"\ntitle = "X"\n[[limitation]]\nslug = "x"\ntitle = "Y"\n', "duplicate slug"),
        ('[[limitation]]\nslug = "Bad Slug"\ntitle = "X"\n', "slug must match"),
        ('[[limitation]]\nslug = "x"\ntitle = "X"\nflags = ["nope"]\n', "unknown flag"),
        ('[[limitation]]\nslug = "x"\ntitle = "X"\nadopt_issue = -1\n', "adopt_issue"),
        ('[[limitation]]\nslug = "x"\ntitle = "X"\ncolour = 1\n', "unknown keys"),
        ("limitation = [", "not valid TOML"),
    ],
)
def test_seed_file_validation(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "l.toml"
    path.write_text(toml)
    with pytest.raises(LimitationConfigError, match=message):
        load_limitations(path)


def test_seeding_is_idempotent_and_keeps_ticked_fixes(engine: Engine) -> None:
    with session_scope(engine) as s:
        first = seed_limitations(s)
    assert first.inserted == len(load_limitations()) and first.updated == 0
    with session_scope(engine) as s:
        row = limitation(s, "generation-control")
        row.candidate_fixes = [{**f, "done": f["text"] == "Repetition penalty / EOS training"}
                               for f in row.candidate_fixes] + [{"text": "Added on GitHub", "done": False}]
    with session_scope(engine) as s:
        again = seed_limitations(s)
        assert (again.inserted, again.updated) == (0, 0)
        fixes = limitation(s, "generation-control").candidate_fixes
    assert {"text": "Repetition penalty / EOS training", "done": True} in fixes
    assert {"text": "Added on GitHub", "done": False} in fixes
    with session_scope(engine) as s:
        assert s.query(Limitation).count() == len(load_limitations())


# --- aggregates --------------------------------------------------------------------------------------------------


def test_counts_trend_and_examples_from_the_database(engine: Engine) -> None:
    build_abel_like(engine)
    with session_scope(engine) as s:
        calc = limitation_state(s, limitation(s, "calculation-reliability"))
        robust = limitation_state(s, limitation(s, "robustness"))
        general = limitation_state(s, limitation(s, "generalization"))
        understanding = limitation_state(s, limitation(s, "problem-understanding"))
        universality = limitation_state(s, limitation(s, "universality"))
    assert calc.current == {"Abel-7B-001|gsm8k": 2, "Abel-7B-002|gsm8k": 1, "Abel-7B-001|gsm8k_robust": 1,
                            "Abel-7B-001|tal_scq5k_en": 0}
    # robustness: memorized_original (q0) and the robustness_flip flag (q1, category arithmetic)
    assert robust.current["Abel-7B-001|gsm8k_robust"] == 2
    assert general.current == {"Abel-7B-001|gsm8k": 0, "Abel-7B-002|gsm8k": 0, "Abel-7B-001|gsm8k_robust": 0,
                               "Abel-7B-001|tal_scq5k_en": 2}
    assert understanding.report.total_failures == 1 + 1 + 1  # reasoning, missing_step, reasoning (tal)
    series = [t for t in calc.report.trends if t.benchmark == "gsm8k"]
    assert [(p.generation, p.failures) for p in series[0].points] == [("Abel-001", 2), ("Abel-002", 1)]
    assert len(calc.report.examples) == 4  # every arithmetic failure in the latest runs, under the cap of 5
    ex = calc.report.examples[0]
    assert ex.evidence["expression"] == "12 * 15" and ex.gold == "180" and ex.answer == "170"
    assert universality.report.counts == () and not universality.spec.has_signal
    body = render_block(calc.report)
    assert "| Abel-7B-001 | tal\\_scq5k\\_en |" not in body  # no failures now or before: row left out
    assert "1 model × benchmark pairs without failures are not shown." in body
    assert "Abel-001 33.3% (2/6) → Abel-002 16.7% (1/6) (change -16.7 points)" in body
    with session_scope(engine) as s:
        add_run(s, model="Abel-70B-001", generation="Abel-001", benchmark="gsm8k", domain="in_domain",
                outcomes=["arithmetic", None, None, None, None, None], started=T0)
        calc = limitation_state(s, limitation(s, "calculation-reliability"))
    scale = next(t for t in calc.report.scales if t.family == "Abel-001" and t.benchmark == "gsm8k")
    assert [(p.generation, p.failures) for p in scale.points] == [("7B", 2), ("70B", 1)]
    assert "**Abel-001** on `gsm8k`: 7B 33.3% (2/6) → 70B 16.7% (1/6)" in render_block(calc.report)


def test_change_since_last_sync_is_stable_between_syncs(engine: Engine) -> None:
    build_abel_like(engine)
    with session_scope(engine) as s:
        row = limitation(s, "calculation-reliability")
        state = limitation_state(s, row)
        first = render_block(state.report)
        assert all(c.previous is None for c in state.report.counts)
        record_sync(s, row, state, number=1, url="u", issue_state="open", content_hash="h")
    with session_scope(engine) as s:
        row = limitation(s, "calculation-reliability")
        assert render_block(limitation_state(s, row).report) == first  # nothing changed -> same body
        add_run(s, model="Abel-7B-002", generation="Abel-002", benchmark="gsm8k", domain="in_domain",
                outcomes=["arithmetic", "arithmetic", "arithmetic", None, None, None], started=T0 + timedelta(days=5))
        state = limitation_state(s, row)
        cell = next(c for c in state.report.counts if c.key == "Abel-7B-002|gsm8k")
        assert (cell.failures, cell.previous) == (3, 1)
        assert "| +2 |" in render_block(state.report)
        assert state.regression is not None and "Abel-7B-002 on gsm8k: 3 of 6" in state.regression
        record_sync(s, row, state, number=1, url="u", issue_state="open", content_hash="h2")
    with session_scope(engine) as s:
        state = limitation_state(s, limitation(s, "calculation-reliability"))
        assert "| +2 |" in render_block(state.report)  # still the change at the last sync that changed it
        assert state.regression is None


def test_read_back_takes_ticks_from_github_but_keeps_dashboard_ticks(engine: Engine) -> None:
    with session_scope(engine) as s:
        seed_limitations(s)
        row = limitation(s, "generation-control")
        state = limitation_state(s, row)
        record_sync(s, row, state, number=7, url="u", issue_state="open", content_hash="h")
        body = merge_body(None, render_block(state.report))
        ticked = body.replace("- [ ] Repetition penalty / EOS training", "- [x] Repetition penalty / EOS training")
        ticked = ticked.replace("### Candidate fixes\n", "### Candidate fixes\n- [ ] Try nucleus sampling\n")
        # the dashboard ticked another one meanwhile: GitHub still shows what was pushed, so the DB value stands
        row.candidate_fixes = [{**f, "done": f["text"].startswith("Raise max_tokens")} for f in row.candidate_fixes]
        changes = read_back(s, row, number=7, url="u", state="closed", body=ticked)
        done = {f["text"]: f["done"] for f in row.candidate_fixes}
    assert done["Repetition penalty / EOS training"] is True
    assert done["Raise max_tokens for long MATH solutions"] is True
    assert done["Try nucleus sampling"] is False
    assert row.issue_state == "closed" and row.status == "mitigated"
    assert any("ticked" in c for c in changes)


# --- rendering and escaping --------------------------------------------------------------------------------------

HOSTILE = "Ask @octocat about #12 <script>alert(1)</script> a|b ``tick`` $x$ https://github.com/o/r/issues/3\nnext"


def _outside_code(markdown: str) -> str:
    """The markdown with code spans removed (GitHub neither mentions nor links inside them)."""
    return re.sub(r"(`+)(?:(?!\1).)*?\1", "", markdown)


def _spec(**kw: object) -> LimitationSpec:
    base: dict[str, object] = dict(slug="calc", title="Calc", description="What it is.", categories=("arithmetic",),
                                   candidate_fixes=(CandidateFix("PoT", True), CandidateFix("More data")))
    base.update(kw)
    return LimitationSpec(**base)  # type: ignore[arg-type]


def _example(i: int, text: str = HOSTILE) -> Example:
    return Example(response_id=i, model=f"M{text}", benchmark="gsm8k", problem_key=f"k{i}", question=text,
                   category="arithmetic", answer=text, gold="`1|2`",
                   evidence={"step": 3, "expression": text, "claimed": "@x", "actual": "#5"})


def test_hostile_text_is_inert() -> None:
    report = LimitationReport(
        spec=_spec(), examples=(_example(1),),
        counts=(CountCell(model=f"Abel|{HOSTILE}", benchmark="gsm8k", failures=3, responses=10),),
    )
    body = render_block(report, dashboard_url="http://dash:8501")
    outside = _outside_code(body)
    assert not re.search(r"@[A-Za-z0-9]", outside), "an @mention would ping someone"
    assert not re.search(r"#\d", outside), "#12 would cross-reference an issue"
    assert "<script" not in outside.lower()  # inside a code span it is literal text
    assert "https://github.com" not in outside
    # the only HTML outside code spans is ours: the marker, the block delimiters and the footer's <sub>
    assert set(re.findall(r"<[^>]*>", outside)) == {BLOCK_BEGIN, BLOCK_END, "<!-- abel-triage:limitation=calc -->",
                                                    "<sub>", "</sub>"}
    table_rows = [line for line in body.splitlines() if line.startswith("| ") and "gsm8k" in line]
    assert len(table_rows) == 1
    assert len(re.findall(r"(?<!\\)\|", table_rows[0])) == 7, "an unescaped pipe would add a column"
    assert "\nnext" not in body
    assert "[response 1](http://dash:8501/?response=1)" in body


def test_md_code_handles_backticks_and_md_text_escapes() -> None:
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x`") == "`` `x` ``"
    assert md_code("a|b", in_table=True) == "`a\\|b`"
    assert md_text("@bob #3") == "@\u200dbob \\#\u200d3"
    assert md_text("<b>&") == "&lt;b&gt;&amp;"
    assert md_text("line\nbreak") == "line break"


def test_no_signal_rendering() -> None:
    body = render_block(LimitationReport(spec=_spec(categories=(), slug="universality")))
    assert "No automatic signal yet" in body
    assert "| model |" not in body


def test_body_stays_under_github_limit_with_huge_data() -> None:
    big = "9" * 5000
    counts = tuple(CountCell(model=f"Model-{i}-{big[:50]}", benchmark=f"bench-{i}", failures=i, responses=10_000)
                   for i in range(5000))
    examples = tuple(_example(i, text=big) for i in range(20))
    fixes = tuple(CandidateFix(f"fix {i}") for i in range(50))
    report = LimitationReport(spec=_spec(candidate_fixes=fixes, description="d" * 3000), counts=counts,
                              examples=examples)
    body = render_block(report)
    assert len(body) < GITHUB_BODY_LIMIT
    assert body.startswith(BLOCK_BEGIN) and body.endswith(BLOCK_END)
    assert "more rows cut to fit" in body
    assert find_marker(body) == "calc"
    assert len(parse_checkboxes(merge_body(None, body))) == 50  # the checklist always survives
    whole = merge_body("p" * 30_000, render_block(report, max_chars=GITHUB_BODY_LIMIT - 1 - 30_002))
    assert len(whole) < GITHUB_BODY_LIMIT


def test_merge_body_keeps_text_around_the_block() -> None:
    block = render_block(LimitationReport(spec=_spec()))
    adopted = merge_body("Original text by the maintainers.", block)
    assert adopted.startswith("Original text by the maintainers.\n\n" + BLOCK_BEGIN)
    edited = adopted + "\n\nA note added later."
    newer = render_block(LimitationReport(spec=_spec(description="Changed.")))
    merged = merge_body(edited, newer)
    assert merged.startswith("Original text") and merged.endswith("A note added later.") and "Changed." in merged
    assert parse_checkboxes(merged) == {"PoT": True, "More data": False}


def test_close_is_proposed_only_when_failures_fell_to_the_threshold(engine: Engine) -> None:
    with session_scope(engine) as s:
        seed_limitations(s)
        add_run(s, model="Abel-7B-001", generation="Abel-001", benchmark="gsm8k", domain="in_domain",
                outcomes=["truncated", None], started=T0)
        row = limitation(s, "generation-control")
        state = limitation_state(s, row)
        assert not state.below_threshold
        record_sync(s, row, state, number=1, url="u", issue_state="open", content_hash="h")
        never = limitation_state(s, limitation(s, "benchmark-quality"))
        assert not never.below_threshold  # never had a failure: nothing "fell"
        add_run(s, model="Abel-7B-001", generation="Abel-001", benchmark="gsm8k", domain="in_domain",
                outcomes=[None, None], started=T0 + timedelta(days=1))
        assert limitation_state(s, row).below_threshold
