"""The GitHub emulator itself, driven by PyGithub's real client (and raw requests for headers)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from github import Auth, Github
from github.GithubException import BadCredentialsException, GithubException

from db.github_sync import make_retry
from tests.github_emulator import GitHubEmulator, running_emulator

REPO = "gair/abel"


@pytest.fixture
def emu() -> Iterator[GitHubEmulator]:
    with running_emulator(default_per_page=3) as e:
        e.add_repo(REPO)
        yield e


def _gh(emu: GitHubEmulator, token: str | None = "test-token", **kw: object) -> Github:
    auth = Auth.Token(token) if token else None
    return Github(base_url=emu.url, auth=auth, seconds_between_requests=0, seconds_between_writes=0, **kw)  # type: ignore[arg-type]


def test_issues_labels_milestones_round_trip(emu: GitHubEmulator) -> None:
    repo = _gh(emu, retry=None).get_repo(REPO)
    assert repo.full_name == REPO
    ms = repo.create_milestone("Bernoulli")
    label = repo.create_label("abel-triage", "5319e7")
    issue = repo.create_issue("Robustness", body="hello", labels=["abel-triage", "limitation:robustness"],
                              milestone=ms)
    assert (issue.number, issue.state, issue.milestone.title) == (1, "open", "Bernoulli")
    assert sorted(lab.name for lab in issue.labels) == ["abel-triage", "limitation:robustness"]
    issue.edit(state="closed", body="bye", labels=[label.name])
    again = repo.get_issue(1)
    assert (again.state, again.body, [lab.name for lab in again.labels]) == ("closed", "bye", ["abel-triage"])
    again.create_comment("regressed")
    assert [c.body for c in again.get_comments()] == ["regressed"]
    with pytest.raises(GithubException) as dup_label:
        repo.create_label("abel-triage", "000000")
    assert dup_label.value.status == 422
    with pytest.raises(GithubException) as dup_ms:
        repo.create_milestone("Bernoulli")
    assert dup_ms.value.status == 422
    assert emu.writes == 7  # milestone, label, issue, edit, comment, and the two refused duplicates


def test_listing_filters_and_paginates_with_link_headers(emu: GitHubEmulator) -> None:
    for i in range(8):
        emu.seed_issue(REPO, f"issue {i}", labels=["abel-triage"] if i % 2 == 0 else ["other"],
                       state="closed" if i in (0, 1) else "open")
    repo = _gh(emu, retry=None).get_repo(REPO)
    managed = [i.number for i in repo.get_issues(state="all", labels=["abel-triage"], direction="asc")]
    assert managed == [1, 3, 5, 7]
    assert [i.number for i in repo.get_issues(state="open", direction="asc")] == [3, 4, 5, 6, 7, 8]
    pages = [p for p in emu.requests if p[1] == f"/repos/{REPO}/issues"]
    assert len(pages) >= 2 + 2  # 4 managed issues and 6 open ones, 3 per page
    raw = requests.get(f"{emu.url}/repos/{REPO}/issues?state=all&per_page=2",
                       headers={"Authorization": "token test-token"}, timeout=5)
    assert 'rel="next"' in raw.headers["Link"] and "page=2" in raw.headers["Link"]


def test_auth_etag_and_rate_limit_headers(emu: GitHubEmulator) -> None:
    url = f"{emu.url}/repos/{REPO}"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "token wrong"}, timeout=5).status_code == 401
    ok = requests.get(url, headers={"Authorization": "token test-token"}, timeout=5)
    assert ok.status_code == 200 and ok.headers["X-RateLimit-Limit"] == "5000"
    assert int(ok.headers["X-RateLimit-Remaining"]) < 5000
    cached = requests.get(url, headers={"Authorization": "token test-token", "If-None-Match": ok.headers["ETag"]},
                          timeout=5)
    assert cached.status_code == 304 and cached.content == b""
    with pytest.raises(BadCredentialsException):
        _gh(emu, token="wrong", retry=None).get_repo(REPO)


def test_injected_faults_are_retried_by_the_configured_retry(emu: GitHubEmulator) -> None:
    emu.inject("GET", r"/repos/gair/abel$", 502, count=2)
    gh = _gh(emu, retry=make_retry(total=3, backoff_factor=0.01))
    assert gh.get_repo(REPO).full_name == REPO
    statuses = [s for m, p, s in emu.requests if p == f"/repos/{REPO}"]
    assert statuses == [502, 502, 200]
    emu.inject("GET", r"/repos/gair/abel$", 503, count=10)
    with pytest.raises(GithubException) as exc:  # exhausted: a GithubException with the status, not RetryError
        _gh(emu, retry=make_retry(total=2, backoff_factor=0.01)).get_repo(REPO)
    assert exc.value.status == 503


def test_rate_limit_fault_waits_for_the_reset(emu: GitHubEmulator) -> None:
    emu.inject_rate_limit("GET", r"/repos/gair/abel$", reset_in=1)
    start = time.monotonic()
    assert _gh(emu, retry=make_retry(total=3, backoff_factor=0.01)).get_repo(REPO).full_name == REPO
    assert time.monotonic() - start >= 0.9  # waited until X-RateLimit-Reset
    emu.inject_rate_limit("GET", r"/repos/gair/abel$", retry_after=1)
    start = time.monotonic()
    assert _gh(emu, retry=make_retry(total=3, backoff_factor=0.01)).get_repo(REPO).full_name == REPO
    assert time.monotonic() - start >= 0.9  # honoured Retry-After
