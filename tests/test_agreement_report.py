"""Rules vs people: the agreement of rule (and judge) labels with human labels, `report agreement`, `labels import`
and the Triage page's "Rules vs people" section, on the hand-made database of tests/dashboard_seed.py.

Failures of the seed with their machine labels, and the human labels `_label` adds (figures worked out by hand):

    A  M-7B  gsm8k #1         rule arithmetic@2        human arithmetic@2              agree, steps agree
    B  M-7B  gsm8k #2         rule reasoning           human misread_quantity@1        disagree (judge agrees)
    C  M-70B gsm8k #2         rule missing_step        human reasoning, then missing_step@3 (newest)  agree
    D  M-7B  gsm8k_robust #0  rule memorized_original  human arithmetic                disagree
    E  M-70B gsm8k_robust #3  rule arithmetic          human arithmetic@1              agree
    F  M-7B  gsm8k_robust #2  (no label)               human reasoning                 left out: no rule label
    G  M-7B  gsm8k_robust #1  judge misread_quantity   human misread_quantity          left out for the rules
    and a human label on a correct response (M-7B gsm8k #0), which is not a failure and never counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from db.agreement import agreement_report, import_human_labels
from db.cli import app
from db.cli.cmd_labels import NO_LABELS, default_author
from db.cli.common import CliError
from db.labels import add_label
from db.models import CategoryLabel, Response, Run, utcnow
from db.queries import Filters
from db.session import make_engine, session_scope
from tests import dashboard_seed as seed
from tests.conftest import REPO_ROOT

Ids = dict[tuple[str, str, int], int]
NAMES = {"A": ("M-7B", "gsm8k", 1), "B": ("M-7B", "gsm8k", 2), "C": ("M-70B", "gsm8k", 2),
         "D": ("M-7B", "gsm8k_robust", 0), "E": ("M-70B", "gsm8k_robust", 3), "F": ("M-7B", "gsm8k_robust", 2),
         "G": ("M-7B", "gsm8k_robust", 1)}


def _human(engine: Engine, rid: int, category: str, step: int | None = None, *, ago: int = 0) -> None:
    with session_scope(engine) as s:
        add_label(s, rid, category, source="human", first_error_step=step, author="ana",
                  created_at=utcnow() - timedelta(hours=ago))


def _label(engine: Engine) -> dict[str, int]:
    """Seed, then add the human labels of the module docstring; returns response ids by letter."""
    ids = seed.seed(engine)
    rid = {letter: ids[name] for letter, name in NAMES.items()}
    _human(engine, rid["A"], "arithmetic", 2)
    _human(engine, rid["B"], "misread_quantity", 1)
    _human(engine, rid["C"], "missing_step", 3, ago=1)
    _human(engine, rid["C"], "reasoning", ago=2)  # stored later but made earlier: the older label
    _human(engine, rid["D"], "arithmetic")
    _human(engine, rid["E"], "arithmetic", 1)
    _human(engine, rid["F"], "reasoning")
    _human(engine, rid["G"], "misread_quantity")
    _human(engine, ids[("M-7B", "gsm8k", 0)], "gold_suspect")  # a correct response: not a failure
    return rid


def _judge(engine: Engine, rid: int, category: str, step: int | None, *, ago: int = 0) -> None:
    with session_scope(engine) as s:
        add_label(s, rid, category, source="judge", confidence=0.7, first_error_step=step,
                  created_at=utcnow() - timedelta(hours=ago))


# ---------------------------------------------------------------------------------------------- the report


def test_rule_report_on_a_hand_built_database(engine: Engine) -> None:
    rid = _label(engine)
    r = agreement_report(engine)
    assert (r["source"], r["human_labelled"], r["n"], r["unpaired"], r["agreed"]) == ("rule", 7, 5, 2, 3)
    assert r["accuracy"] == pytest.approx(0.6)
    cats = {c["category"]: c for c in r["categories"]}
    assert [c["category"] for c in r["categories"]][0] == "arithmetic"  # most often labelled by people first
    assert {k: (c["right"], c["predicted"], c["found"], c["labelled"]) for k, c in cats.items()} == {
        "arithmetic": (2, 2, 2, 3), "missing_step": (1, 1, 1, 1), "misread_quantity": (0, 0, 0, 1),
        "memorized_original": (0, 1, 0, 0), "reasoning": (0, 1, 0, 0)}
    assert cats["arithmetic"]["precision"] == 1.0 and cats["arithmetic"]["recall"] == pytest.approx(2 / 3)
    assert cats["misread_quantity"]["precision"] is None and cats["reasoning"]["recall"] is None
    assert {(c["human"], c["predicted"]): c["n"] for c in r["confusion"]} == {
        ("arithmetic", "arithmetic"): 2, ("missing_step", "missing_step"): 1,
        ("misread_quantity", "reasoning"): 1, ("arithmetic", "memorized_original"): 1}
    # Steps: only A has a step on both sides (2 = 2); C and E have no rule step. A, B, C, E have a human step.
    assert r["first_error_step"] == {"both": 1, "agreed": 1, "human_with_step": 4}
    assert r["categorizer_versions"] == {"test": 5}
    assert r["with_judge"] == 1  # G
    assert r["disagreements"] == [
        {"response_id": rid["B"], "run_id": r["disagreements"][0]["run_id"], "model": "M-7B", "benchmark": "gsm8k",
         "key": "2", "human": "misread_quantity", "human_step": 1, "predicted": "reasoning", "predicted_step": None,
         "predicted_source": "rule", "author": "ana", "note": None},
        {"response_id": rid["D"], "run_id": r["disagreements"][1]["run_id"], "model": "M-7B",
         "benchmark": "gsm8k_robust", "key": "0", "human": "arithmetic", "human_step": None,
         "predicted": "memorized_original", "predicted_step": None, "predicted_source": "rule", "author": "ana",
         "note": None},
    ]
    with engine.connect() as conn:
        run_b = conn.execute(select(Response.run_id).where(Response.id == rid["B"])).scalar_one()
    assert r["disagreements"][0]["run_id"] == run_b


def test_newest_human_label_wins_even_with_the_same_timestamp(engine: Engine) -> None:
    rid = _label(engine)
    assert agreement_report(engine)["agreed"] == 3  # C: the newer `missing_step` is compared, not `reasoning`
    same = utcnow() + timedelta(hours=1)
    with session_scope(engine) as s:  # two labels on C at one instant: the one stored last (higher id) wins
        add_label(s, rid["C"], "unit_conversion", source="human", author="bo", created_at=same)
        add_label(s, rid["C"], "reasoning", source="human", author="bo", created_at=same)
    r = agreement_report(engine)
    assert (r["human_labelled"], r["n"], r["agreed"]) == (7, 5, 2)
    assert [(d["response_id"], d["human"], d["predicted"]) for d in r["disagreements"]][0] == (
        rid["B"], "misread_quantity", "reasoning")
    assert (rid["C"], "reasoning", "missing_step") in [(d["response_id"], d["human"], d["predicted"])
                                                      for d in r["disagreements"]]


def test_judge_and_rule_plus_judge_sources(engine: Engine) -> None:
    rid = _label(engine)
    _judge(engine, rid["B"], "reasoning", 4, ago=3)  # an older judge label on B...
    _judge(engine, rid["B"], "misread_quantity", 1)  # ...and the newest, which is the one compared
    judge = agreement_report(engine, source="judge")
    # Only B and G have judge labels; both agree with people; B's steps agree (1 = 1), G has no steps.
    assert (judge["human_labelled"], judge["n"], judge["unpaired"], judge["agreed"]) == (7, 2, 5, 2)
    assert judge["first_error_step"]["both"] == 1 and judge["first_error_step"]["agreed"] == 1
    assert judge["disagreements"] == [] and judge["categorizer_versions"] == {} and judge["with_judge"] == 2
    both = agreement_report(engine, source="rule+judge")
    # A, C, E by their rule labels (agree), B and G by their judge labels (agree), D by its rule label (not); F out.
    assert (both["n"], both["agreed"], both["unpaired"]) == (6, 5, 1)
    assert [(d["response_id"], d["predicted_source"]) for d in both["disagreements"]] == [(rid["D"], "rule")]
    assert both["categorizer_versions"] == {"test": 4}
    with pytest.raises(ValueError, match="unknown source"):
        agreement_report(engine, source="people")


def test_scope_by_run_and_by_filters(engine: Engine) -> None:
    rid = _label(engine)
    with engine.connect() as conn:
        run_a = conn.execute(select(Response.run_id).where(Response.id == rid["A"])).scalar_one()
    by_run = agreement_report(engine, run_id=run_a)  # M-7B gsm8k: A agrees, B does not
    assert (by_run["run_id"], by_run["human_labelled"], by_run["n"], by_run["agreed"]) == (run_a, 2, 2, 1)
    big = agreement_report(engine, filters=Filters(models=("M-70B",)))  # C and E, both agree
    assert (big["human_labelled"], big["n"], big["agreed"], big["disagreements"]) == (2, 2, 2, [])
    none = agreement_report(engine, filters=Filters(models=("nobody",)))
    assert (none["human_labelled"], none["n"], none["accuracy"]) == (0, 0, None)


# ---------------------------------------------------------------------------------------------- report agreement


def _cli(db_url: str, *args: str) -> object:
    return CliRunner().invoke(app, ["--db", db_url, *args])


def test_cli_report_text_json_and_show(engine: Engine, db_url: str) -> None:
    rid = _label(engine)
    text = _cli(db_url, "report", "agreement")
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0] == "rules vs people, all runs: 5 failures"
    assert lines[1] == "category agreement: 3/5 = 60.0%"
    assert lines[2] == "first-error step (category agrees, both give a step): 1/1"
    assert lines[4].split() == ["arithmetic", "2/2", "2/3"]
    assert "2 human-labelled failure(s) left out: no rule label (run `abel-triage categorize`)" in lines
    assert any(line.startswith("rule labels compared: vtest 5; the categorizer is v") for line in lines)
    assert lines[-1] == "2 disagreement(s): --show lists them, --json gives them with response ids"

    as_json = _cli(db_url, "report", "agreement", "--json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout) == json.loads(json.dumps(agreement_report(engine)))

    shown = _cli(db_url, "report", "agreement", "--show").stdout.splitlines()
    assert f"response {rid['B']} M-7B gsm8k #2: human misread_quantity@1, rule reasoning@None (ana)" in shown

    judge = _cli(db_url, "report", "agreement", "--source", "judge")
    assert judge.stdout.splitlines()[:2] == ["judge vs people, all runs: 1 failures",
                                             "category agreement: 1/1 = 100.0%"]
    with engine.connect() as conn:
        run_a = conn.execute(select(Response.run_id).where(Response.id == rid["A"])).scalar_one()
    by_run = _cli(db_url, "report", "agreement", "--run", str(run_a))
    assert by_run.stdout.splitlines()[:2] == [f"rules vs people, run {run_a}: 2 failures",
                                              "category agreement: 1/2 = 50.0%"]
    bad = _cli(db_url, "report", "agreement", "--source", "people")
    assert isinstance(bad.exception, CliError) and "unknown source 'people'" in str(bad.exception)


def test_cli_report_without_human_labels(engine: Engine, db_url: str) -> None:
    seed.seed(engine)  # rule labels, no human label
    text = _cli(db_url, "report", "agreement")
    assert (text.exit_code, text.stdout.strip()) == (0, NO_LABELS)
    as_json = _cli(db_url, "report", "agreement", "--json")
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)["n"] == 0
    assert _cli(db_url, "report", "agreement", "--run", "999").stdout.startswith("No human labels on run 999 yet: ")
    with session_scope(engine) as s:  # a human label on a failure nobody categorized: says what to run
        rid = s.scalars(select(Response.id).where(Response.category.is_(None), Response.correct.is_(False))).one()
        add_label(s, rid, "reasoning", source="human", author="ana")
    assert _cli(db_url, "report", "agreement").stdout.strip() == (
        "People have labelled 1 failure; none of them has a rule category yet. Run `abel-triage categorize` first.")


# ---------------------------------------------------------------------------------------------- labels import


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


def _human_rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(CategoryLabel.response_id, CategoryLabel.category, CategoryLabel.first_error_step,
                   CategoryLabel.note, CategoryLabel.author)
            .where(CategoryLabel.source == "human").order_by(CategoryLabel.id))]


@pytest.fixture
def labels_file(tmp_path: Path, engine: Engine) -> Iterator[tuple[Path, Ids]]:
    ids = seed.seed(engine)
    path = _write(tmp_path / "labels.jsonl", [
        {"run": "gsm8k/7b", "key": "1", "category": "arithmetic", "first_error_step": 2,
         "rationale": "12 * 15 written as 170", "split": "dev"},                               # 1: dev-labels format
        {"response_id": ids[("M-70B", "gsm8k", 2)], "category": "missing_step"},               # 2: by response id
        {"model": "M-7B", "benchmark": "gsm8k_robust", "key": 0, "category": "memorized_original",
         "note": "answers the original"},                                                      # 3: by model
        '{"run": "gsm8k/7b", "key": "2", "category": "arithmetic"',                            # 4: malformed
        {"run": "gsm8k/7b", "key": "2", "category": "banana"},                                 # 5: unknown category
        {"run": "gsm8k/7b", "key": "0", "category": "arithmetic"},                             # 6: correct, no failure
        {"run": "gsm8k/13b", "key": "1", "category": "arithmetic"},                            # 7: unknown run
        {"response_id": 999999, "category": "arithmetic"},                                     # 8: unknown response
        "",                                                                                    # 9: blank, skipped
        [1, 2],                                                                                # 10: not an object
        {"run": "gsm8k", "key": "1", "category": "arithmetic"},                                # 11: run without size
        {"key": "1", "category": "arithmetic", "first_error_step": 0},                         # 12: bad step
    ])
    yield path, ids


def test_labels_import_formats_errors_idempotence_and_author(labels_file: tuple[Path, Ids], engine: Engine,
                                                             db_url: str) -> None:
    path, ids = labels_file
    first = _cli(db_url, "labels", "import", str(path), "--author", "carol")
    assert first.exit_code == 1, first.output  # like `import jsonl`: lines failed, everything else was stored
    assert first.stdout.strip() == "imported 3 label(s), skipped 0 already present, 8 line error(s)"
    errors = first.stderr.splitlines()
    assert errors.pop() == "8 line(s) could not be imported; everything else was stored"
    assert [e.split(":")[1] for e in errors] == ["4", "5", "6", "7", "8", "10", "11", "12"]
    assert all(e.startswith(f"{path}:") for e in errors)
    assert errors[0].startswith(f"{path}:4: invalid JSON: ")
    assert errors[1].startswith(f"{path}:5: unknown category 'banana' (expected one of: truncated, ")
    assert errors[2] == f"{path}:6: run gsm8k/7b, key '0' is not a failure in the database"
    assert errors[3] == f"{path}:7: run gsm8k/13b, key '1' is not a failure in the database"
    assert errors[4] == f"{path}:8: response 999999 is not a failure in the database"
    assert errors[5] == f"{path}:10: expected a JSON object, got list"
    assert errors[6].startswith(f'{path}:11: "run" must be "<benchmark>/<size>"')
    assert errors[7].startswith(f'{path}:12: "first_error_step" must be a step number')
    stored = [
        (ids[("M-7B", "gsm8k", 1)], "arithmetic", 2, "12 * 15 written as 170", "carol"),
        (ids[("M-70B", "gsm8k", 2)], "missing_step", None, None, "carol"),
        (ids[("M-7B", "gsm8k_robust", 0)], "memorized_original", None, "answers the original", "carol"),
    ]
    assert _human_rows(engine) == stored
    with engine.connect() as conn:  # the effective category is the human one now
        sources = conn.execute(select(Response.category_source).where(Response.id.in_([s[0] for s in stored])))
        assert set(sources.scalars()) == {"human"}

    again = _cli(db_url, "labels", "import", str(path), "--author", "carol")
    assert again.stdout.strip() == "imported 0 label(s), skipped 3 already present, 8 line error(s)"
    assert _human_rows(engine) == stored

    other = _cli(db_url, "labels", "import", str(path))  # another author (the OS user) labels the same: stored
    assert other.stdout.strip() == "imported 3 label(s), skipped 0 already present, 8 line error(s)"
    assert [row[4] for row in _human_rows(engine)] == ["carol"] * 3 + [default_author()] * 3

    report = agreement_report(engine)  # the imported labels are measured like any other
    assert (report["human_labelled"], report["n"], report["agreed"]) == (3, 3, 3)


def test_labels_import_run_names_prefer_abel_runs_and_report_ambiguity(tmp_path: Path, engine: Engine) -> None:
    ids = seed.seed(engine)
    with session_scope(engine) as s:  # a second M-7B gsm8k run where problem 1 fails again
        first = s.get(Response, ids[("M-7B", "gsm8k", 1)])
        assert first is not None
        rerun = Run(run_key="vllm:rerun", model_id=first.run.model_id, benchmark_id=first.run.benchmark_id,
                    source="vllm", status="finished")
        s.add(rerun)
        s.flush()
        s.add(Response(run_id=rerun.id, problem_id=first.problem_id, text="#### 1", status="incorrect",
                       correct=False, extracted="1"))
        s.flush()
        rerun_response = s.scalars(select(Response.id).where(Response.run_id == rerun.id)).one()
    path = _write(tmp_path / "l.jsonl", [{"run": "gsm8k/7b", "key": "1", "category": "arithmetic"}])
    result = import_human_labels(engine, path, author="ana")
    assert result.imported == 0 and [str(e) for e in result.errors] == [
        f"{path}:1: run gsm8k/7b, key '1' matches 2 failures (responses {ids[('M-7B', 'gsm8k', 1)]}, "
        f"{rerun_response}); name it by \"response_id\""]
    with session_scope(engine) as s:  # the seed's run becomes Abel's published run: "gsm8k/7b" names it
        run = s.get(Run, s.get(Response, ids[("M-7B", "gsm8k", 1)]).run_id)  # type: ignore[union-attr]
        assert run is not None
        run.run_key = "import:abel:gsm8k/7b"
    result = import_human_labels(engine, path, author="ana")
    assert (result.imported, result.errors) == (1, [])
    assert _human_rows(engine) == [(ids[("M-7B", "gsm8k", 1)], "arithmetic", None, None, "ana")]


def test_labels_import_commits_each_batch(labels_file: tuple[Path, Ids], engine: Engine) -> None:
    path, _ = labels_file

    def killed(done: int, total: int) -> None:
        raise KeyboardInterrupt  # the process is stopped right after the first batch was committed

    with pytest.raises(KeyboardInterrupt):
        import_human_labels(engine, path, author="ana", batch_size=2, on_batch=killed)
    assert len(_human_rows(engine)) == 2  # lines 1 and 2: the first batch
    seen: list[tuple[int, int]] = []
    result = import_human_labels(engine, path, author="ana", batch_size=2, on_batch=lambda d, t: seen.append((d, t)))
    assert (result.imported, result.skipped, len(result.errors)) == (1, 2, 8)
    assert seen == [(2, 6), (4, 6), (6, 6)]  # lines 1-3 and 6-8 parse (6-8 then name no failure), 2 per batch


def test_labels_import_missing_file_is_exit_1(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "db.cli", "--db", str(tmp_path / "x.db"), "labels", "import",
                           str(tmp_path / "nope.jsonl")], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"error: labels file not found: {tmp_path / 'nope.jsonl'}"]


def test_labels_import_unreadable_file(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"response_id": 1, "category": "arithm\xe9tic"}\n')
    result = _cli(db_url, "labels", "import", str(path))
    assert isinstance(result.exception, CliError) and str(result.exception).startswith(f"cannot read {path}: ")
    folder = _cli(db_url, "labels", "import", str(tmp_path))
    assert isinstance(folder.exception, CliError)
    assert str(folder.exception) == f"{tmp_path} is a folder, not a labels file"


# ---------------------------------------------------------------------------------------------- PostgreSQL


def test_same_report_and_import_on_postgres(tmp_path: Path, engine: Engine) -> None:
    pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")
    from tests.postgres import PostgresUnavailable, running_postgres

    try:
        with running_postgres() as url:
            pg = make_engine(url)
            try:
                for eng in (engine, pg):
                    _judge(eng, _label(eng)["B"], "misread_quantity", 1)
                # Response ids are the same on both backends: the seed inserts in one order into empty tables.
                reports = [agreement_report(e, source=src) for e in (engine, pg) for src in ("rule", "rule+judge")]
                assert reports[:2] == reports[2:] and reports[1]["agreed"] == 5
                path = _write(tmp_path / "l.jsonl", [{"run": "gsm8k_robust/70b", "key": "3", "category": "reasoning"},
                                                     {"model": "M-70B", "benchmark": "tal_mc", "key": "1",
                                                      "category": "option_mapping"}])
                results = [import_human_labels(e, path, author="ana") for e in (engine, pg, pg)]
                assert [(r.imported, r.skipped, r.errors) for r in results] == [(2, 0, []), (2, 0, []), (0, 2, [])]
                assert agreement_report(pg) == agreement_report(engine)
            finally:
                pg.dispose()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


# ---------------------------------------------------------------------------------------------- the Triage page

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


def _triage(db_url: str, monkeypatch: pytest.MonkeyPatch, **state: object) -> AppTest:
    monkeypatch.setenv("ABEL_TRIAGE_DB", db_url)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page("app_pages/triage.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _frame(at: AppTest, column: str):  # type: ignore[no-untyped-def]
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with column {column!r}")


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_triage_page_shows_rules_vs_people(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rid = _label(engine)
    at = _triage(db_url, monkeypatch, triage_author="alice")
    assert at.title[0].value == "Triage"
    assert ("**Rules vs people** · People have labelled 7 failures; the rule category agreed on 3 of the 5 that "
            "have one (60.0%).") in [m.value for m in at.markdown]
    per_category = _frame(at, "precision %").set_index("category")
    assert per_category.loc["arithmetic", "precision"] == "2/2" and per_category.loc["arithmetic", "recall"] == "2/3"
    assert per_category.loc["arithmetic", "recall %"] == pytest.approx(66.7)
    assert pd_none(per_category.loc["misread_quantity", "precision %"])
    dis = _frame(at, "open")
    assert dis["open"].tolist() == [f"failures?response={rid['B']}", f"failures?response={rid['D']}"]
    assert dis[["human", "rule"]].values.tolist() == [["misread_quantity", "reasoning"],
                                                      ["arithmetic", "memorized_original"]]
    assert "Disagreements (2)" in [e.label for e in at.expander]

    narrowed = _triage(db_url, monkeypatch, triage_author="alice", global_models=["M-70B"])
    assert ("**Rules vs people** · People have labelled 2 failures; the rule category agreed on 2 (100.0%)."
            in [m.value for m in narrowed.markdown])


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_triage_page_without_human_labels_then_after_one(engine: Engine, db_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    seed.seed(engine)
    at = _triage(db_url, monkeypatch, triage_author="alice")
    captions = " ".join(c.value for c in at.caption)
    assert "Rules vs people: no failure has a human label yet" in captions
    assert not any("Rules vs people" in m.value for m in at.markdown)
    at.button(key="triage_confirm").click().run()  # confirms the first item's rule category (`reasoning`)
    assert not at.exception
    assert ("**Rules vs people** · People have labelled 1 failure; the rule category agreed on 1 (100.0%)."
            in [m.value for m in at.markdown])


def pd_none(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))
