"""The "Limitations & roadmap" page under Streamlit's AppTest: empty database, seeding, the figures a person sees
(table, metrics, the trend chart's data), ticking a candidate fix, and the dry-run-then-confirm sync against the
GitHub emulator (tests/github_emulator.py) through PyGithub's real HTTP client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from analysis.limitations import load_limitations
from dashboard.state import IMPORT_COMMANDS
from db.models import Limitation
from db.session import session_scope
from tests import dashboard_seed
from tests.github_emulator import GitHubEmulator, running_emulator
from tests.test_limitations import build_abel_like

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PAGE = "app_pages/limitations.py"
REPO = "gair/abel"
N = len(load_limitations())
CALC = "calculation-reliability"


@pytest.fixture(autouse=True)
def _no_token_no_links(monkeypatch: pytest.MonkeyPatch, fresh_streamlit_caches: None) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("ABEL_TRIAGE_DASHBOARD_URL", raising=False)


@pytest.fixture
def abel_like(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Abel-7B-001 -> Abel-7B-002 on gsm8k plus robustness and out-of-domain runs, limitations seeded."""
    monkeypatch.setenv("ABEL_TRIAGE_DB", db_url)
    build_abel_like(engine)
    return engine


@pytest.fixture
def emu() -> Iterator[GitHubEmulator]:
    with running_emulator() as e:
        e.add_repo(REPO)
        yield e


def open_page(**state: object) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page that has `column` (AppTest does not expose a display table's key)."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with column {column!r}")


def table(at: AppTest) -> pd.DataFrame:
    return frame_with(at, "changed since sync").set_index("limitation")


def plan_table(at: AppTest) -> pd.DataFrame:
    return frame_with(at, "action")


def title_of(slug: str) -> str:
    return next(s.title for s in load_limitations() if s.slug == slug)


def chart_data(at: AppTest, index: int) -> tuple[dict, pd.DataFrame]:
    proto = at.get("vega_lite_chart")[index].proto
    frame = pa.ipc.open_stream(proto.datasets[0].data.data).read_all().to_pandas()
    return json.loads(proto.spec), frame


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "code", "error", "info", "success", "warning")
             for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def rows(engine: Engine) -> dict[str, Limitation]:
    with session_scope(engine) as s:
        return {r.slug: r for r in s.scalars(select(Limitation))}


def test_empty_database_explains_how_to_import(engine: Engine, db_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABEL_TRIAGE_DB", db_url)
    at = open_page()
    assert at.title[0].value == "Limitations & roadmap"
    assert "no responses yet" in at.info[0].value
    assert at.code[0].value == IMPORT_COMMANDS
    assert not rows(engine), "an empty database is not seeded"


def test_seeds_limitations_when_the_table_is_empty(engine: Engine, db_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABEL_TRIAGE_DB", db_url)
    dashboard_seed.seed(engine)
    assert not rows(engine)
    at = open_page()
    assert set(rows(engine)) == {s.slug for s in load_limitations()}
    assert metrics(at)["Limitations"] == str(N)
    df = table(at)
    # dashboard_seed: arithmetic on M-7B gsm8k #1 and M-70B gsm8k_robust #3; option_mapping on tal_mc (out of
    # domain) counts for generation control and for generalization.
    assert df.loc[title_of(CALC), "failures"] == 2
    assert df.loc[title_of("generalization"), "failures"] == 1
    assert df.loc[title_of("problem-understanding"), "failures"] == 3
    assert pd.isna(df.loc[title_of("universality"), "failures"])  # tracked by hand
    assert open_page() and len(rows(engine)) == N, "reopening does not seed twice"


def test_numbers_trend_and_body_preview(abel_like: Engine) -> None:
    at = open_page(limitations_selected=CALC)
    m = metrics(at)
    assert (m["Limitations"], m["Open"], m["Mitigated"]) == (str(N), str(N), "0")
    assert m["Candidate fixes done"] == f"0/{sum(len(s.candidate_fixes) for s in load_limitations())}"
    # 2 arithmetic (7B-001 gsm8k) + 1 (7B-002 gsm8k) + 1 (7B-001 gsm8k_robust) in the latest runs.
    assert m["Failures (latest runs)"] == "4"
    assert m["Changed since last sync"] == "never synced"
    assert m["Issue"] == "none yet"
    df = table(at)
    assert df.loc[title_of(CALC), "failures"] == 4
    assert df.loc[title_of("robustness"), "failures"] == 2  # memorized_original + a robustness_flip
    assert (df["state"] == "not synced").all()
    assert "Milestone “Bernoulli”" in [h.value for h in at.subheader]

    milestone_spec, milestone = chart_data(at, 0)
    assert dict(zip(milestone["slug"], milestone["failures"], strict=True))[CALC] == 4
    trend_spec, trend = chart_data(at, 1)
    assert "facet" in trend_spec
    gsm = trend[trend["benchmark"] == "gsm8k"].set_index("generation")
    assert gsm.loc["Abel-001", "failures"] == 2 and gsm.loc["Abel-001", "responses"] == 6
    assert gsm.loc["Abel-002", "failures"] == 1 and gsm.loc["Abel-002", "rate"] == pytest.approx(16.67)
    assert set(trend["series"]) == {"Abel 7B"}

    markdown = next(c.value for c in at.code if "abel-triage:" in c.value)
    assert f"<!-- abel-triage:limitation={CALC} -->" in markdown
    assert "| Abel-7B-001 | gsm8k | 2 | 6 | 33.3% | – |" in markdown
    rendered = "\n".join(e.value for e in at.markdown)
    assert "| Abel-7B-001 | gsm8k | 2 | 6 | 33.3% | – |" in rendered
    assert "<!--" not in rendered, "hidden comments are not shown as text in the preview"


def test_ticking_a_candidate_fix_stores_it(abel_like: Engine) -> None:
    at = open_page(limitations_selected=CALC)
    first = at.checkbox(key=f"limitations_fix_{CALC}_0_0")
    assert first.value is False
    first.check().run()
    assert not at.exception
    fixes = rows(abel_like)[CALC].candidate_fixes
    assert fixes[0]["done"] is True and fixes[0]["text"] == first.label
    assert not any(f["done"] for f in fixes[1:])
    assert at.checkbox(key=f"limitations_fix_{CALC}_0_1").value is True
    assert metrics(at)["Candidate fixes done"].startswith("1/")
    assert table(at).loc[title_of(CALC), "fixes done"] == "1/3"
    at.checkbox(key=f"limitations_fix_{CALC}_0_1").uncheck().run()
    assert rows(abel_like)[CALC].candidate_fixes[0]["done"] is False


def test_missing_token_is_a_clear_error_and_blocks_the_dry_run(abel_like: Engine) -> None:
    at = open_page(limitations_repo=REPO)
    assert any("GITHUB_TOKEN is not set" in e.value for e in at.error)
    assert at.button(key="limitations_dry_run").disabled




def test_dry_run_then_confirm_applies(abel_like: Engine, emu: GitHubEmulator,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    at = open_page(limitations_repo=REPO, limitations_api_url=emu.url, limitations_selected=CALC)
    assert not at.error
    assert at.button(key="limitations_dry_run").disabled is False

    at.button(key="limitations_dry_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    plan = plan_table(at)
    assert list(plan["action"]) == ["create"] * N
    assert list(plan["limitation"]) == [s.slug for s in load_limitations()]
    assert f"{N} create" in texts(at)
    diffs = [c.value for c in at.code if c.language == "diff"]
    assert len(diffs) == N and any(f"+<!-- abel-triage:limitation={CALC} -->" in d for d in diffs)
    assert emu.writes == 0 and emu.issues(REPO) == [], "a dry run writes nothing to GitHub"
    assert all(r.issue_number is None and r.content_hash is None for r in rows(abel_like).values()), \
        "a dry run writes nothing to the database"
    assert at.button(key="limitations_apply").disabled, "applying needs an explicit confirmation"
    assert "test-token" not in texts(at)

    at.checkbox(key="limitations_confirm").check().run()
    at.button(key="limitations_apply").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    issues = emu.managed_issues(REPO)
    assert len(issues) == N and all(len(v) == 1 for v in issues.values())
    assert issues[CALC][0]["milestone"]["title"] == "Bernoulli"
    assert any(f"Synced {REPO}: {N} create" in s.value for s in at.success)
    stored = rows(abel_like)
    assert {r.issue_number for r in stored.values()} == {i[0]["number"] for i in issues.values()}
    df = table(at)
    assert (df["changed since sync"] == "no").all(), "what was just written hashes the same as the render"
    assert (df["state"] == "open").all()
    assert metrics(at)["Issue"] == f"#{stored[CALC].issue_number}"

    # A tick in the dashboard makes that one limitation differ from GitHub; the next dry run plans its update.
    at.checkbox(key=f"limitations_fix_{CALC}_0_0").check().run()
    df = table(at)
    assert df.loc[title_of(CALC), "changed since sync"] == "yes"
    assert (df.drop(index=title_of(CALC))["changed since sync"] == "no").all()
    writes = emu.writes
    at.button(key="limitations_dry_run").click().run()
    plan = plan_table(at).set_index("limitation")
    assert plan.loc[CALC, "action"] == "update"
    assert (plan.drop(index=CALC)["action"] == "noop").all()
    assert emu.writes == writes
    diff = next(c.value for c in at.code if c.language == "diff")
    assert "+- [x] " in diff and "-- [ ] " in diff
