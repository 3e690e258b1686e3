"""Keeping one GitHub issue per limitation true: read, plan, apply.

The steps of `sync_github`:

1. list the repository's issues carrying the `abel-triage` label (state all; never the search API) and fetch
   any issue the database records or a limitation adopts that the listing missed;
2. read people's changes back into the database (open/closed state, ticked candidate fixes);
3. render each limitation's managed block from the database and plan (`analysis.github_plan`);
4. apply the plan through a `Tracker`, committing each issue's number and content hash right after it is
   written, so a run killed half-way is finished by the next one without duplicates (an issue created whose
   database write was lost is found again by its marker).

Two trackers implement the interface: `PyGithubTracker` (the real API, with a urllib3 `Retry` configured here
so 5xx and rate limits are retried with backoff and surface as clear errors) and `DryRunTracker` (reads through
another tracker, records the writes it would make). The token is read from `GITHUB_TOKEN` only, passed straight
to PyGithub, and never stored or logged.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from analysis.github_plan import DesiredIssue, FoundIssue, PlannedAction, SyncPlan, match_issues, plan_sync
from analysis.limitations import MANAGED_LABEL, body_budget, content_hash, find_marker, issue_labels, render_block
from db.limitations import LimitationState, limitation_state, list_limitations, read_back, record_sync
from db.models import Limitation

log = logging.getLogger(__name__)

TOKEN_ENV = "GITHUB_TOKEN"
DEFAULT_API_URL = "https://api.github.com"
T = TypeVar("T")


class GitHubSyncError(Exception):
    """The sync cannot go on: bad token, missing scope, unreachable API, exhausted retries, ..."""


class GitHubAuthError(GitHubSyncError):
    """No token, or GitHub refused it (401) or its scope (403)."""


def token_from_env() -> str:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise GitHubAuthError(f"{TOKEN_ENV} is not set: create a token with the `repo` scope (or fine-grained "
                              "`issues: write`) and export it")
    return token


class Tracker(Protocol):
    """What the sync needs from an issue tracker."""

    writes: int

    def list_managed_issues(self) -> list[FoundIssue]: ...

    def get_issue(self, number: int) -> FoundIssue | None: ...

    def ensure_labels(self, names: Sequence[str]) -> None: ...

    def ensure_milestone(self, title: str) -> None: ...

    def create_issue(self, title: str, body: str, labels: Sequence[str], milestone: str) -> FoundIssue: ...

    def edit_issue(self, number: int, *, title: str, body: str, labels: Sequence[str], milestone: str,
                   state: str | None) -> FoundIssue: ...

    def add_comment(self, number: int, body: str) -> None: ...


@dataclass
class DryRunTracker:
    """Reads through `reader` (or sees no issues) and records the writes it would make."""

    reader: Tracker | None = None
    writes: int = 0
    recorded: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _next: int = 1_000_000

    def list_managed_issues(self) -> list[FoundIssue]:
        return self.reader.list_managed_issues() if self.reader else []

    def get_issue(self, number: int) -> FoundIssue | None:
        return self.reader.get_issue(number) if self.reader else None

    def ensure_labels(self, names: Sequence[str]) -> None:
        self.recorded.append(("ensure_labels", {"names": list(names)}))

    def ensure_milestone(self, title: str) -> None:
        self.recorded.append(("ensure_milestone", {"title": title}))

    def create_issue(self, title: str, body: str, labels: Sequence[str], milestone: str) -> FoundIssue:
        self.recorded.append(("create_issue", {"title": title, "labels": list(labels), "milestone": milestone}))
        self._next += 1
        return FoundIssue(self._next, title, body, "open", tuple(labels), milestone, "")

    def edit_issue(self, number: int, *, title: str, body: str, labels: Sequence[str], milestone: str,
                   state: str | None) -> FoundIssue:
        self.recorded.append(("edit_issue", {"number": number, "state": state}))
        return FoundIssue(number, title, body, state or "open", tuple(labels), milestone, "")

    def add_comment(self, number: int, body: str) -> None:
        self.recorded.append(("add_comment", {"number": number}))


def make_retry(*, total: int = 5, backoff_factor: float = 1.0, max_wait: float = 900.0):  # type: ignore[no-untyped-def]
    """A urllib3 `Retry` for PyGithub: 5xx retried with exponential backoff, `Retry-After` and rate-limit resets
    honoured (PyGithub's `GithubRetry` reads `X-RateLimit-Reset`), waits longer than `max_wait` refused.

    `raise_on_status=False` makes the last failed response reach PyGithub, which raises a `GithubException`
    with the status and message, instead of requests' opaque `RetryError`. POST is not retried at this level:
    a create that timed out may have happened, so `PyGithubTracker` retries it only after checking for it.
    """
    from github.GithubException import RateLimitExceededExceedsMaxWait
    from github.GithubRetry import GithubRetry

    class _Retry(GithubRetry):
        def sleep_for_retry(self, response) -> bool:  # type: ignore[no-untyped-def, override]
            retry_after = self.get_retry_after(response)
            if retry_after and self.max_rate_limit_wait is not None and retry_after > self.max_rate_limit_wait:
                raise RateLimitExceededExceedsMaxWait(response.status, {"message": "Retry-After too long"},
                                                      dict(response.headers), wait=retry_after)
            return super().sleep_for_retry(response)

    return _Retry(
        total=total,
        backoff_factor=backoff_factor,
        backoff_max=120,
        max_rate_limit_wait=max_wait,
        secondary_rate_wait=60,
        respect_retry_after_header=True,
        raise_on_status=False,
        allowed_methods=frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE", "OPTIONS"}),
    )


def _describe(exc: Exception, what: str) -> GitHubSyncError:
    """A GitHub/requests exception as a one-line error, never echoing a token."""
    from github.GithubException import (
        BadCredentialsException,
        GithubException,
        RateLimitExceededException,
        UnknownObjectException,
    )

    if isinstance(exc, GitHubSyncError):
        return exc
    if isinstance(exc, BadCredentialsException):
        return GitHubAuthError(f"GitHub rejected the token in {TOKEN_ENV} (401 Bad credentials) while {what}")
    if isinstance(exc, RateLimitExceededException):
        reset = (exc.headers or {}).get("X-RateLimit-Reset") or (exc.headers or {}).get("x-ratelimit-reset")
        when = f"; resets at {datetime.fromtimestamp(int(reset), UTC).isoformat()}" if reset and \
            str(reset).isdigit() else ""
        return GitHubSyncError(f"GitHub rate limit exceeded while {what}{when}; rerun later to finish")
    if isinstance(exc, UnknownObjectException):
        return GitHubSyncError(f"not found (404) while {what}: check --repo and that the token can see it")
    if isinstance(exc, GithubException):
        message = exc.data.get("message") if isinstance(exc.data, dict) else str(exc.data or "")
        if exc.status == 403:
            return GitHubAuthError(f"GitHub refused (403) while {what}: {message}; the token in {TOKEN_ENV} "
                                   "needs the `repo` scope (or fine-grained `issues: write`)")
        return GitHubSyncError(f"GitHub answered {exc.status} while {what}: {message}")
    import requests

    if isinstance(exc, requests.exceptions.RequestException):
        return GitHubSyncError(f"cannot reach the GitHub API while {what}: {type(exc).__name__}")
    return GitHubSyncError(f"{what} failed: {exc}")


def _found(issue: Any) -> FoundIssue:
    return FoundIssue(
        number=issue.number, title=issue.title or "", body=issue.body or "", state=issue.state,
        labels=tuple(lab.name for lab in issue.labels), milestone=issue.milestone.title if issue.milestone else None,
        url=issue.html_url or "",
    )


def _label_color(name: str) -> str:
    if name == MANAGED_LABEL:
        return "5319e7"
    if name.startswith("limitation:"):
        return "d93f0b"
    return "c5def5"


class PyGithubTracker:
    """The real tracker: one repository through PyGithub."""

    def __init__(self, repo: str, *, token: str | None = None, api_url: str = DEFAULT_API_URL,
                 retry: Any = None, write_attempts: int = 4, write_backoff: float = 1.0,
                 max_wait: float = 900.0, timeout: int = 30) -> None:
        from github import Auth, Github

        if "/" not in repo or repo.count("/") != 1 or not all(repo.split("/")):
            raise GitHubSyncError(f"--repo must be OWNER/NAME, got {repo!r}")
        self.repo_name = repo
        self.writes = 0
        self._write_attempts = max(1, write_attempts)
        self._write_backoff = write_backoff
        self._max_wait = max_wait
        self._gh = Github(
            base_url=api_url.rstrip("/"), auth=Auth.Token(token if token is not None else token_from_env()),
            retry=retry if retry is not None else make_retry(max_wait=max_wait), seconds_between_requests=0,
            seconds_between_writes=0, timeout=timeout,
        )
        self._repo: Any = None
        self._labels: set[str] | None = None
        self._milestones: dict[str, Any] | None = None

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:
            raise _describe(exc, what) from exc

    @property
    def repo(self) -> Any:
        if self._repo is None:
            self._repo = self._call(f"reading repository {self.repo_name}", lambda: self._gh.get_repo(self.repo_name))
        return self._repo

    def _write(self, what: str, fn: Callable[[], T], recover: Callable[[], T | None] | None = None) -> T:
        """A POST: retried here on 5xx and rate limits, after `recover` checks whether it already happened."""
        from github.GithubException import GithubException, RateLimitExceededException

        delay = self._write_backoff
        for attempt in range(1, self._write_attempts + 1):
            try:
                result = fn()
                self.writes += 1
                return result
            except GithubException as exc:
                transient = isinstance(exc, RateLimitExceededException) or exc.status >= 500 or exc.status == 429
                if not transient or attempt == self._write_attempts:
                    raise _describe(exc, what) from exc
                wait = self._wait_for(exc, delay)
                log.info("%s: GitHub answered %s; retrying in %.1fs (attempt %d)", what, exc.status, wait, attempt)
                time.sleep(wait)
                delay *= 2
                if recover is not None:
                    done = self._call(f"checking whether {what} happened", recover)
                    if done is not None:
                        log.info("%s had happened before the error; not repeating it", what)
                        return done
            except Exception as exc:
                raise _describe(exc, what) from exc
        raise AssertionError("unreachable")

    def _wait_for(self, exc: Any, default: float) -> float:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        wait = default
        if str(headers.get("retry-after", "")).isdigit():
            wait = float(headers["retry-after"])
        elif headers.get("x-ratelimit-remaining") == "0" and str(headers.get("x-ratelimit-reset", "")).isdigit():
            wait = max(0.0, float(headers["x-ratelimit-reset"]) - time.time()) + 1.0
        if wait > self._max_wait:
            raise _describe(exc, f"waiting {wait:.0f}s for GitHub")
        return wait

    def _edit_call(self, what: str, fn: Callable[[], T]) -> T:
        result = self._call(what, fn)
        self.writes += 1
        return result

    def list_managed_issues(self) -> list[FoundIssue]:
        def run() -> list[FoundIssue]:
            out = []
            for issue in self.repo.get_issues(state="all", labels=[MANAGED_LABEL], sort="created", direction="asc"):
                if issue.pull_request is None:
                    out.append(_found(issue))
            return out

        return self._call("listing managed issues", run)

    def get_issue(self, number: int) -> FoundIssue | None:
        from github.GithubException import UnknownObjectException

        try:
            return _found(self.repo.get_issue(number))
        except UnknownObjectException:
            return None
        except Exception as exc:
            raise _describe(exc, f"reading issue #{number}") from exc

    def ensure_labels(self, names: Sequence[str]) -> None:
        if self._labels is None:
            self._labels = self._call("listing labels", lambda: {lab.name for lab in self.repo.get_labels()})
        for name in names:
            if name in self._labels:
                continue
            from github.GithubException import GithubException

            try:
                self._write(f"creating label {name}", lambda n=name: self.repo.create_label(  # type: ignore[misc]
                    n, _label_color(n), "Managed by abel-triage"))
            except GitHubSyncError as exc:
                cause = exc.__cause__
                if not (isinstance(cause, GithubException) and cause.status == 422):
                    raise
                log.info("label %s already exists", name)  # created concurrently or by a retried request
            self._labels.add(name)

    def _milestone(self, title: str) -> Any:
        if self._milestones is None:
            self._milestones = self._call(
                "listing milestones", lambda: {m.title: m for m in self.repo.get_milestones(state="all")})
        return self._milestones.get(title)

    def ensure_milestone(self, title: str) -> None:
        if self._milestone(title) is not None:
            return
        assert self._milestones is not None

        def recover() -> Any:
            self._milestones = None
            return self._milestone(title)

        self._milestones[title] = self._write(f"creating milestone {title}",
                                              lambda: self.repo.create_milestone(title), recover)

    def create_issue(self, title: str, body: str, labels: Sequence[str], milestone: str) -> FoundIssue:
        ms = self._milestone(milestone)
        slug = find_marker(body)

        def recover() -> Any:
            if slug is None:
                return None
            for issue in self.repo.get_issues(state="all", labels=[MANAGED_LABEL]):
                if find_marker(issue.body) == slug:
                    return issue
            return None

        kwargs: dict[str, Any] = {"title": title, "body": body, "labels": list(labels)}
        if ms is not None:
            kwargs["milestone"] = ms
        issue = self._write(f"creating the issue {title!r}", lambda: self.repo.create_issue(**kwargs), recover)
        return _found(issue)

    def edit_issue(self, number: int, *, title: str, body: str, labels: Sequence[str], milestone: str,
                   state: str | None) -> FoundIssue:
        ms = self._milestone(milestone)
        issue = self._call(f"reading issue #{number}", lambda: self.repo.get_issue(number))
        kwargs: dict[str, Any] = {"title": title, "body": body, "labels": list(labels)}
        if ms is not None:
            kwargs["milestone"] = ms
        if state is not None:
            kwargs["state"] = state
        self._edit_call(f"editing issue #{number}", lambda: issue.edit(**kwargs))
        return _found(issue)

    def add_comment(self, number: int, body: str) -> None:
        issue = self._call(f"reading issue #{number}", lambda: self.repo.get_issue(number))
        self._write(f"commenting on issue #{number}", lambda: issue.create_comment(body))


# --- the sync ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncResult:
    plan: SyncPlan
    writes: int
    applied: tuple[str, ...] = ()  # slugs whose action was carried out
    dry_run: bool = False
    issues: dict[str, int] = field(default_factory=dict)  # slug -> issue number after applying

    def as_json(self) -> dict[str, object]:
        return {
            "actions": [{**a.as_json(), "issue": self.issues.get(a.slug, a.issue)} for a in self.plan.actions],
            "writes": self.writes,
        }


@dataclass(frozen=True)
class _Prepared:
    plan: SyncPlan
    states: dict[str, LimitationState]
    rows: dict[str, Limitation]


def _found_issues(tracker: Tracker, rows: Sequence[Limitation]) -> list[FoundIssue]:
    found = tracker.list_managed_issues()
    have = {i.number for i in found}
    for row in rows:
        for number in (row.issue_number, row.adopt_issue):
            if number is not None and number not in have:
                issue = tracker.get_issue(number)
                if issue is not None:
                    found.append(issue)
                    have.add(number)
    return found


def prepare_plan(session: Session, tracker: Tracker, *, dashboard_url: str | None = None,
                 close_proposed: bool = False) -> _Prepared:
    """Read GitHub, read people's changes back into the session, render and plan. Writes nothing to GitHub."""
    rows = list_limitations(session)
    if not rows:
        raise GitHubSyncError("no limitations in the database: run `abel-triage limitations seed` first")
    found = _found_issues(tracker, rows)
    first = [DesiredIssue(slug=r.slug, title=r.title, block="", labels=(), milestone=r.milestone,
                          issue_number=r.issue_number, adopt_issue=r.adopt_issue) for r in rows]
    matched, _ = match_issues(first, found)
    for row in rows:
        issue = matched.get(row.slug)
        if issue is not None and issue.slug == row.slug:  # adopted issues have no managed block to read yet
            changes = read_back(session, row, number=issue.number, url=issue.url, state=issue.state, body=issue.body)
            if changes:
                log.info("%s: read back from GitHub: %s", row.slug, "; ".join(changes))
    session.flush()
    states: dict[str, LimitationState] = {}
    desired: list[DesiredIssue] = []
    for row in rows:
        state = limitation_state(session, row)
        states[row.slug] = state
        issue = matched.get(row.slug)
        block = render_block(state.report, dashboard_url=dashboard_url,
                             max_chars=body_budget(issue.body if issue else None))
        desired.append(DesiredIssue(
            slug=row.slug, title=row.title, block=block, labels=issue_labels(state.spec), milestone=row.milestone,
            issue_number=row.issue_number, adopt_issue=row.adopt_issue, regression=state.regression,
            below_threshold=state.below_threshold,
        ))
    plan = plan_sync(desired, found, close_proposed=close_proposed)
    return _Prepared(plan, states, {r.slug: r for r in rows})


def _apply_one(tracker: Tracker, act: PlannedAction) -> FoundIssue:
    if act.action == "create":
        return tracker.create_issue(act.title, act.body, act.labels, act.milestone)
    assert act.issue is not None
    issue = FoundIssue(act.issue, act.title, act.body, act.state or "", act.labels, act.milestone)
    if act.edit or act.state is not None or act.action == "adopt":
        issue = tracker.edit_issue(act.issue, title=act.title, body=act.body, labels=act.labels,
                                   milestone=act.milestone, state=act.state)
    if act.comment:
        tracker.add_comment(act.issue, act.comment)
    return issue


def sync_github(engine: Engine, tracker: Tracker, *, dry_run: bool = False, dashboard_url: str | None = None,
                close_proposed: bool = False,
                after_write: Callable[[str, FoundIssue], None] | None = None) -> SyncResult:
    """Plan and (unless `dry_run`) apply. Each applied issue is committed to the database at once."""
    with Session(engine, expire_on_commit=False) as session:
        prepared = prepare_plan(session, tracker, dashboard_url=dashboard_url, close_proposed=close_proposed)
        plan = prepared.plan
        for w in plan.warnings:
            log.warning("%s", w)
        if dry_run:
            session.rollback()
            return SyncResult(plan=plan, writes=0, dry_run=True)
        session.commit()  # the read-back survives even if applying fails
        pending = plan.pending
        if pending:
            tracker.ensure_labels(sorted({lab for a in pending for lab in a.labels}))
            for ms in sorted({a.milestone for a in pending}):
                tracker.ensure_milestone(ms)
        applied: list[str] = []
        numbers: dict[str, int] = {}
        for act in plan.actions:
            row = prepared.rows[act.slug]
            state = prepared.states[act.slug]
            if act.writes:
                issue = _apply_one(tracker, act)
                applied.append(act.slug)
                if after_write is not None:
                    after_write(act.slug, issue)
                number, url, issue_state = issue.number, issue.url or row.issue_url or "", issue.state or "open"
            else:
                assert act.issue is not None
                number, url = act.issue, row.issue_url or ""
                issue_state = row.issue_state or "open"
            record_sync(session, row, state, number=number, url=url, issue_state=issue_state,
                        content_hash=content_hash(act.title, act.body, act.labels, act.milestone))
            session.commit()
            numbers[act.slug] = number
        return SyncResult(plan=plan, writes=tracker.writes, applied=tuple(applied), issues=numbers)


def preview_sync(engine: Engine, tracker: Tracker | None = None, *, dashboard_url: str | None = None,
                 close_proposed: bool = False) -> SyncPlan:
    """The plan the next sync would carry out, with each body, for the dashboard. Writes nothing anywhere.

    Without a tracker the plan is made against no issues (every limitation is a `create`), which still gives
    the rendered bodies; with one (a `PyGithubTracker`) it also reads GitHub, and the read-back is discarded.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            return prepare_plan(session, tracker or DryRunTracker(), dashboard_url=dashboard_url,
                                close_proposed=close_proposed).plan
        finally:
            session.rollback()
