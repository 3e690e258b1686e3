"""The GitHub sync plan: desired issues (from the database) vs issues found on GitHub -> actions.

Pure and Terraform-like: `plan_sync` decides, `db.github_sync` applies. An action per limitation:

- `create`: no issue carries the limitation's marker, none is recorded in the database, none is to be adopted;
- `adopt`: take over an existing issue (`adopt_issue`), keeping its text above the managed block;
- `update`: body, title, labels or milestone differ from what is rendered;
- `reopen`: the issue is closed but failures reappeared in a run newer than the last sync (a regression);
- `propose_close`: failures fell to the threshold; listed for a person, closed only with `close_proposed=True`
  (then the action is `close`);
- `noop`: nothing to write.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from analysis.limitations import find_marker, merge_body

ACTIONS = ("create", "adopt", "update", "reopen", "propose_close", "close", "noop")


@dataclass(frozen=True)
class FoundIssue:
    """An issue as read from GitHub."""

    number: int
    title: str
    body: str
    state: str  # open / closed
    labels: tuple[str, ...] = ()
    milestone: str | None = None
    url: str = ""

    @property
    def slug(self) -> str | None:
        return find_marker(self.body)


@dataclass(frozen=True)
class DesiredIssue:
    """What one limitation's issue should say, rendered from the database."""

    slug: str
    title: str
    block: str  # the managed block; merged into the existing body so text around it is kept
    labels: tuple[str, ...]
    milestone: str
    issue_number: int | None = None  # recorded in the database by an earlier sync
    adopt_issue: int | None = None
    regression: str | None = None  # what regressed since the last sync (newer runs), None when nothing did
    below_threshold: bool = False


@dataclass(frozen=True)
class PlannedAction:
    slug: str
    action: str
    issue: int | None
    title: str
    body: str
    labels: tuple[str, ...]
    milestone: str
    old_body: str | None = None
    state: str | None = None  # the state to set (open / closed), None to leave it
    comment: str | None = None
    reasons: tuple[str, ...] = ()
    edit: bool = False  # body/title/labels/milestone must be written

    @property
    def writes(self) -> bool:
        return self.action not in ("noop",) and (
            self.action in ("create", "adopt", "reopen", "close") or self.edit or self.comment is not None
        )

    def diff(self) -> str:
        """A unified diff of the body (empty when unchanged)."""
        old = (self.old_body or "").splitlines(keepends=True)
        new = self.body.splitlines(keepends=True)
        name = f"#{self.issue}" if self.issue else "(new issue)"
        return "".join(difflib.unified_diff(old, new, fromfile=f"{name} on GitHub", tofile=f"{name} rendered"))

    def as_json(self) -> dict[str, object]:
        return {"limitation": self.slug, "action": self.action, "issue": self.issue}


@dataclass(frozen=True)
class SyncPlan:
    actions: tuple[PlannedAction, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def pending(self) -> tuple[PlannedAction, ...]:
        return tuple(a for a in self.actions if a.writes)

    def counts(self) -> dict[str, int]:
        out = {a: 0 for a in ACTIONS}
        for act in self.actions:
            out[act.action] += 1
        return out


def _normalize(body: str | None) -> str:
    return (body or "").replace("\r\n", "\n").rstrip()


def match_issues(desired: Sequence[DesiredIssue], found: Sequence[FoundIssue]) -> tuple[dict[str, FoundIssue],
                                                                                       list[str]]:
    """Which found issue belongs to which limitation: its marker first, then the recorded number, then adoption.

    When several issues carry one marker (an earlier tool's duplicates) the lowest number wins and a warning
    names the others; they are left alone.
    """
    warnings: list[str] = []
    by_marker: dict[str, list[FoundIssue]] = {}
    for issue in found:
        slug = issue.slug
        if slug is not None:
            by_marker.setdefault(slug, []).append(issue)
    by_number = {i.number: i for i in found}
    matched: dict[str, FoundIssue] = {}
    taken: set[int] = set()
    for d in desired:
        candidates = sorted(by_marker.get(d.slug, []), key=lambda i: i.number)
        if len(candidates) > 1:
            warnings.append(
                f"{d.slug}: several issues carry its marker ({', '.join(f'#{i.number}' for i in candidates)}); "
                f"using #{candidates[0].number}"
            )
        issue = candidates[0] if candidates else None
        if issue is None and d.issue_number is not None:
            cand = by_number.get(d.issue_number)
            if cand is not None and cand.slug in (None, d.slug):
                issue = cand
        if issue is None and d.adopt_issue is not None:
            cand = by_number.get(d.adopt_issue)
            if cand is not None and cand.slug in (None, d.slug):
                issue = cand
            elif cand is not None:
                warnings.append(f"{d.slug}: issue #{d.adopt_issue} to adopt belongs to {cand.slug!r}")
        if issue is not None:
            if issue.number in taken:
                warnings.append(f"{d.slug}: issue #{issue.number} is already matched to another limitation")
                continue
            taken.add(issue.number)
            matched[d.slug] = issue
    return matched, warnings


def plan_sync(
    desired: Sequence[DesiredIssue], found: Sequence[FoundIssue], *, close_proposed: bool = False
) -> SyncPlan:
    """Compare desired issues with those found on GitHub and decide one action per limitation."""
    matched, warnings = match_issues(desired, found)
    actions: list[PlannedAction] = []
    for d in desired:
        issue = matched.get(d.slug)
        if issue is None:
            body = merge_body(None, d.block)
            actions.append(
                PlannedAction(d.slug, "create", None, d.title, body, d.labels, d.milestone,
                              reasons=("no issue carries this limitation's marker",), edit=True)
            )
            continue
        body = merge_body(issue.body, d.block)
        labels = tuple(dict.fromkeys([*issue.labels, *d.labels]))  # keep labels people added
        reasons: list[str] = []
        if _normalize(issue.body) != _normalize(body):
            reasons.append("body changed")
        if issue.title != d.title:
            reasons.append("title changed")
        missing = [lab for lab in d.labels if lab not in issue.labels]
        if missing:
            reasons.append(f"labels missing: {', '.join(missing)}")
        if issue.milestone != d.milestone:
            reasons.append(f"milestone {issue.milestone!r} -> {d.milestone!r}")
        edit = bool(reasons)
        common = dict(slug=d.slug, issue=issue.number, title=d.title, body=body, labels=labels,
                      milestone=d.milestone, old_body=issue.body, edit=edit)
        adopting = issue.slug is None
        if adopting:
            actions.append(PlannedAction(action="adopt", reasons=("adopting an existing issue", *reasons),
                                         **common))  # type: ignore[arg-type]
        elif issue.state == "closed" and d.regression:
            actions.append(PlannedAction(action="reopen", state="open", reasons=(d.regression, *reasons),
                                         comment=f"Reopened by abel-triage: failures reappeared. {d.regression}",
                                         **common))  # type: ignore[arg-type]
        elif issue.state == "open" and d.below_threshold:
            if close_proposed:
                actions.append(PlannedAction(
                    action="close", state="closed", reasons=("failures at or below the threshold", *reasons),
                    comment="Closed by abel-triage: failures fell to the limitation's close threshold.",
                    **common))  # type: ignore[arg-type]
            else:
                actions.append(PlannedAction(action="propose_close",
                                             reasons=("failures at or below the threshold", *reasons),
                                             **common))  # type: ignore[arg-type]
        elif edit:
            actions.append(PlannedAction(action="update", reasons=tuple(reasons), **common))  # type: ignore[arg-type]
        else:
            actions.append(PlannedAction(action="noop", **common))  # type: ignore[arg-type]
    return SyncPlan(tuple(actions), tuple(warnings))
