"""The GitHub sync end to end against the emulator, through PyGithub's real HTTP client."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from analysis.github_plan import DesiredIssue, FoundIssue, plan_sync
from analysis.limitations import find_marker, load_limitations, merge_body
from db.cli import app
from db.cli.common import CliError
from db.github_sync import (
    DryRunTracker,
    GitHubAuthError,
    GitHubSyncError,
    PyGithubTracker,
    make_retry,
    preview_sync,
    sync_github,
)
from db.models import Limitation
from db.session import session_scope
from tests.github_emulator import GitHubEmulator, running_emulator
from tests.test_limitations import T0, add_run, build_abel_like

REPO = "gair/abel"
N = len(load_limitations())


@pytest.fixture
def emu() -> Iterator[GitHubEmulator]:
    with running_emulator(default_per_page=4) as e:  # small pages: listing must follow Link headers
        e.add_repo(REPO)
        yield e


def tracker(emu: GitHubEmulator, **kw: object) -> PyGithubTracker:
    return PyGithubTracker(REPO, token="test-token", api_url=emu.url,
                           retry=make_retry(total=4, backoff_factor=0.01), write_backoff=0.01, **kw)  # type: ignore[arg-type]




def test_first_sync_creates_one_issue_per_limitation_then_second_makes_no_writes(
    engine: Engine, emu: GitHubEmulator
) -> None:
    build_abel_like(engine)
    result = sync_github(engine, tracker(emu), dashboard_url="http://localhost:8501")
    assert [a.action for a in result.plan.actions] == ["create"] * N
    issues = emu.managed_issues(REPO)
    assert len(issues) == N and all(len(v) == 1 for v in issues.values())
    calc = issues["calculation-reliability"][0]
    assert calc["milestone"]["title"] == "Bernoulli"
    assert {lab["name"] for lab in calc["labels"]} == {"abel-triage", "limitation:calculation-reliability",
                                                       "category:arithmetic"}
    assert "| Abel-7B-001 | gsm8k | 2 | 6 | 33.3% | – |" in calc["body"]
    with session_scope(engine) as s:
        rows = s.scalars(select(Limitation)).all()
        assert all(r.issue_number and r.content_hash and r.issue_state == "open" for r in rows)

    writes_before = emu.writes
    second = sync_github(engine, tracker(emu), dashboard_url="http://localhost:8501")
    assert [a.action for a in second.plan.actions] == ["noop"] * N
    assert second.writes == 0 and emu.writes == writes_before


def test_adopting_an_existing_issue_keeps_its_text(engine: Engine, emu: GitHubEmulator, tmp_path) -> None:
    original = emu.seed_issue(REPO, "Robustness", "Abel is not robust to perturbations. @maintainer please look.")
    specs = [s if s.slug != "robustness" else type(s)(**{**s.__dict__, "adopt_issue": original["number"]})
             for s in load_limitations()]
    from db.limitations import seed_limitations

    with session_scope(engine) as s:
        seed_limitations(s, specs)
    result = sync_github(engine, tracker(emu))
    actions = {a.slug: a for a in result.plan.actions}
    assert actions["robustness"].action == "adopt" and actions["robustness"].issue == original["number"]
    assert len(emu.issues(REPO)) == N  # adopted, not duplicated
    adopted = emu.issues(REPO)[0]
    assert adopted["body"].startswith("Abel is not robust to perturbations. @maintainer please look.")
    assert find_marker(adopted["body"]) == "robustness" and adopted["milestone"]["title"] == "Bernoulli"
    assert {"abel-triage", "limitation:robustness"} <= {lab["name"] for lab in adopted["labels"]}
    again = sync_github(engine, tracker(emu))
    assert {a.action for a in again.plan.actions} == {"noop"}


def test_reopens_on_regression_with_a_comment(engine: Engine, emu: GitHubEmulator) -> None:
    build_abel_like(engine)
    sync_github(engine, tracker(emu))
    number = emu.managed_issues(REPO)["calculation-reliability"][0]["number"]
    emu.edit_issue_as_person(REPO, number, state="closed")
    quiet = sync_github(engine, tracker(emu))  # closed on GitHub, nothing new: stays closed
    assert {a.slug: a.action for a in quiet.plan.actions}["calculation-reliability"] == "noop"
    with session_scope(engine) as s:
        assert s.scalars(select(Limitation.status).where(Limitation.slug == "calculation-reliability")).one() \
            == "mitigated"
        add_run(s, model="Abel-7B-002", generation="Abel-002", benchmark="gsm8k", domain="in_domain",
                outcomes=["arithmetic", "arithmetic", None, None, None, None], started=T0 + timedelta(days=9))
    result = sync_github(engine, tracker(emu))
    assert {a.slug: a.action for a in result.plan.actions}["calculation-reliability"] == "reopen"
    issue = emu.repos[REPO].issues[number]
    assert issue["state"] == "open"
    comments = emu.comments(REPO, number)
    assert len(comments) == 1 and "Abel-7B-002 on gsm8k: 2 of 6" in comments[0]["body"]
    with session_scope(engine) as s:
        row = s.scalars(select(Limitation).where(Limitation.slug == "calculation-reliability")).one()
        assert (row.issue_state, row.status) == ("open", "open")


def test_checkbox_ticked_on_github_survives(engine: Engine, emu: GitHubEmulator) -> None:
    build_abel_like(engine)
    sync_github(engine, tracker(emu))
    issue = emu.managed_issues(REPO)["generation-control"][0]
    ticked = issue["body"].replace("- [ ] Repetition penalty / EOS training", "- [x] Repetition penalty / EOS training")
    assert ticked != issue["body"]
    emu.edit_issue_as_person(REPO, issue["number"], body=ticked)
    with session_scope(engine) as s:  # new data forces a re-render of every body with counts
        add_run(s, model="Abel-7B-002", generation="Abel-002", benchmark="gsm8k", domain="in_domain",
                outcomes=["truncated", "repetition", None, None, None, None], started=T0 + timedelta(days=3))
    result = sync_github(engine, tracker(emu))
    assert {a.slug: a.action for a in result.plan.actions}["generation-control"] == "update"
    body = emu.repos[REPO].issues[issue["number"]]["body"]
    assert "- [x] Repetition penalty / EOS training" in body
    assert "| Abel-7B-002 | gsm8k | 2 | 6 |" in body
    with session_scope(engine) as s:
        fixes = s.scalars(select(Limitation).where(Limitation.slug == "generation-control")).one().candidate_fixes
    assert {"text": "Repetition penalty / EOS training", "done": True} in fixes


def test_transient_502s_mid_sync_then_rerun_leaves_no_duplicates(engine: Engine, emu: GitHubEmulator) -> None:
    build_abel_like(engine)
    emu.inject("POST", r"/issues$", 502, count=2)  # retried by the tracker after checking the marker
    emu.inject("POST", r"/issues$", 502, count=1, after=True)  # created, but the client hears 502
    emu.inject("GET", r"/issues$", 503, count=1)  # the listing, retried by urllib3
    first = sync_github(engine, tracker(emu))
    assert all(f.remaining == 0 for f in emu.faults)
    assert len(emu.managed_issues(REPO)) == N and all(len(v) == 1 for v in emu.managed_issues(REPO).values())
    assert first.writes >= N
    with session_scope(engine) as s:
        add_run(s, model="Abel-7B-002", generation="Abel-002", benchmark="gsm8k", domain="in_domain",
                outcomes=["arithmetic", "reasoning", "truncated", None, None, None], started=T0 + timedelta(days=4))
    emu.inject("PATCH", r"/issues/\d+$", 502, count=2)  # retried by urllib3
    updated = sync_github(engine, tracker(emu))
    assert {a.action for a in updated.plan.actions} >= {"update"} and emu.faults[-1].remaining == 0
    # a fault that outlasts the retries aborts the run half-way with a clear error ...
    with session_scope(engine) as s:
        add_run(s, model="Abel-7B-002", generation="Abel-002", benchmark="gsm8k", domain="in_domain",
                outcomes=["arithmetic", "arithmetic", None, None, None, None], started=T0 + timedelta(days=6))
    emu.inject("PATCH", r"/issues/\d+$", 502, count=100)
    with pytest.raises(GitHubSyncError, match="502"):
        sync_github(engine, tracker(emu))
    emu.faults.clear()
    # ... and the rerun finishes it
    rerun = sync_github(engine, tracker(emu))
    assert "update" in {a.action for a in rerun.plan.actions}
    final = sync_github(engine, tracker(emu))
    assert {a.action for a in final.plan.actions} == {"noop"} and final.writes == 0
    assert len(emu.issues(REPO)) == N


def test_crash_after_creates_whose_db_write_was_lost(engine: Engine, emu: GitHubEmulator) -> None:
    build_abel_like(engine)

    class Crash(Exception):
        pass

    created: list[int] = []

    def crash_after_three(slug: str, issue: FoundIssue) -> None:
        created.append(issue.number)
        if len(created) == 3:
            raise Crash  # the process dies before the database records the third issue

    with pytest.raises(Crash):
        sync_github(engine, tracker(emu), after_write=crash_after_three)
    assert len(emu.issues(REPO)) == 3
    with session_scope(engine) as s:
        assert len([r for r in s.scalars(select(Limitation)) if r.issue_number]) == 2
    rerun = sync_github(engine, tracker(emu))
    actions = [a.action for a in rerun.plan.actions]
    assert actions.count("create") == N - 3 and actions.count("noop") == 3
    assert len(emu.issues(REPO)) == N and all(len(v) == 1 for v in emu.managed_issues(REPO).values())


def test_dry_run_writes_nothing_and_shows_a_diff(engine: Engine, emu: GitHubEmulator) -> None:
    build_abel_like(engine)
    result = sync_github(engine, tracker(emu), dry_run=True)
    assert emu.writes == 0 and result.writes == 0
    assert "+<!-- abel-triage:limitation=robustness -->" in result.plan.actions[0].diff()
    recorder = DryRunTracker()
    recorded = sync_github(engine, recorder)
    assert [name for name, _ in recorder.recorded].count("create_issue") == N
    assert recorded.writes == 0 and emu.writes == 0


def test_missing_token_and_refused_scope_are_clear(engine: Engine, emu: GitHubEmulator,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    with pytest.raises(GitHubAuthError, match="GITHUB_TOKEN is not set"):
        PyGithubTracker(REPO, api_url=emu.url)
    build_abel_like(engine)
    with pytest.raises(GitHubAuthError, match="401 Bad credentials"):
        sync_github(engine, PyGithubTracker(REPO, token="nope", api_url=emu.url))
    emu.read_only_tokens.add("read-only")
    with pytest.raises(GitHubAuthError, match="403.*`repo` scope") as exc:
        sync_github(engine, PyGithubTracker(REPO, token="read-only", api_url=emu.url))
    assert "read-only" not in str(exc.value)  # the token never appears in messages


def test_plan_proposes_closing_and_closes_only_when_asked() -> None:
    block = "<!-- abel-triage:begin -->\n<!-- abel-triage:limitation=x -->\nbody\n<!-- abel-triage:end -->"
    found = [FoundIssue(4, "X", merge_body(None, block), "open", ("abel-triage", "limitation:x"), "Bernoulli")]
    desired = [DesiredIssue("x", "X", block, ("abel-triage", "limitation:x"), "Bernoulli", below_threshold=True)]
    proposed = plan_sync(desired, found)
    assert [(a.action, a.writes) for a in proposed.actions] == [("propose_close", False)]
    closing = plan_sync(desired, found, close_proposed=True)
    assert [(a.action, a.state, a.writes) for a in closing.actions] == [("close", "closed", True)]


def test_cli_sync_github_json(engine: Engine, db_url: str, emu: GitHubEmulator,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    build_abel_like(engine)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    runner = CliRunner()
    dry = runner.invoke(app, ["--db", db_url, "sync", "github", "--repo", REPO, "--api-url", emu.url, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "+<!-- abel-triage:limitation=robustness -->" in dry.stdout and "nothing written" in dry.stdout
    assert emu.writes == 0 and emu.issues(REPO) == []
    args = ["--db", db_url, "sync", "github", "--repo", REPO, "--api-url", emu.url, "--json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    assert [a["action"] for a in out["actions"]] == ["create"] * N
    assert all(isinstance(a["issue"], int) for a in out["actions"])  # the numbers just created
    assert out["writes"] >= N and len(emu.issues(REPO)) == N
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    out2 = json.loads(second.stdout)
    assert out2["writes"] == 0 and {a["action"] for a in out2["actions"]} == {"noop"}
    assert all(isinstance(a["issue"], int) for a in out2["actions"])
    monkeypatch.delenv("GITHUB_TOKEN")
    missing = runner.invoke(app, args)
    assert missing.exit_code == 1 and isinstance(missing.exception, CliError)
    assert "GITHUB_TOKEN is not set" in str(missing.exception)
    listing = runner.invoke(app, ["--db", db_url, "limitations", "list", "--json"])
    assert listing.exit_code == 0
    assert {r["slug"]: r["failures"] for r in json.loads(listing.stdout)}["calculation-reliability"] == 4


def test_main_prints_one_line_when_the_token_is_missing(db_url: str, emu: GitHubEmulator) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"}
    proc = subprocess.run(
        [sys.executable, "-c", "from db.cli import main; main()", "--db", db_url, "sync", "github", "--repo", REPO,
         "--api-url", emu.url], capture_output=True, text=True, env=env, cwd=Path(__file__).parent.parent,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("error: GITHUB_TOKEN is not set")


def test_token_never_logged(engine: Engine, emu: GitHubEmulator, caplog: pytest.LogCaptureFixture) -> None:
    build_abel_like(engine)
    emu.tokens.add("s3cr3t-token-value")
    caplog.set_level(logging.DEBUG)
    sync_github(engine, PyGithubTracker(REPO, token="s3cr3t-token-value", api_url=emu.url))
    assert caplog.records and all("s3cr3t" not in r.getMessage() for r in caplog.records)
    with session_scope(engine) as s:
        assert all("s3cr3t" not in repr(r.__dict__) for r in s.scalars(select(Limitation)))


def test_preview_for_the_dashboard_writes_nothing(engine: Engine, emu: GitHubEmulator) -> None:
    build_abel_like(engine)
    offline = preview_sync(engine)
    assert [a.action for a in offline.actions] == ["create"] * N
    assert "| Abel-7B-002 | gsm8k | 1 | 6 |" in {a.slug: a for a in offline.actions}["calculation-reliability"].body
    sync_github(engine, tracker(emu))
    writes = emu.writes
    online = preview_sync(engine, tracker(emu))
    assert {a.action for a in online.actions} == {"noop"} and emu.writes == writes


def test_rate_limited_create_waits_for_the_reset_and_long_waits_fail_clearly(
    engine: Engine, emu: GitHubEmulator
) -> None:
    build_abel_like(engine)
    emu.inject_rate_limit("POST", r"/issues$", reset_in=1)
    sync_github(engine, tracker(emu))
    assert emu.faults[0].remaining == 0
    assert len(emu.issues(REPO)) == N and all(len(v) == 1 for v in emu.managed_issues(REPO).values())
    emu.inject_rate_limit("GET", r"/issues$", retry_after=3600)
    impatient = PyGithubTracker(REPO, token="test-token", api_url=emu.url,
                                retry=make_retry(total=3, backoff_factor=0.01, max_wait=5))
    with pytest.raises(GitHubSyncError, match="rate limit"):
        sync_github(engine, impatient)


def test_cli_limitations_seed_is_idempotent(db_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["--db", db_url, "limitations", "seed", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"inserted": N, "updated": 0, "unchanged": 0}
    again = runner.invoke(app, ["--db", db_url, "limitations", "seed", "--json"])
    assert json.loads(again.stdout) == {"inserted": 0, "updated": 0, "unchanged": N}
    listing = runner.invoke(app, ["--db", db_url, "limitations", "list"])
    assert listing.exit_code == 0 and "universality" in listing.stdout and "no signal" in listing.stdout
