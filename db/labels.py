"""Category labels and the effective category of a response.

A response may carry many labels: one current `rule` label (replaced when the categorizer version changes),
`judge` labels, and any number of `human` labels (a history; the newest wins). The effective category is the
newest human label, else the newest judge label, else the rule label; it is copied onto the response row
(`response.category*`) so aggregate queries need no subquery. Only this module writes those columns.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from analysis.types import LabelSource
from db.models import CategoryLabel, Response, utcnow

_SOURCE_RANK = {LabelSource.HUMAN.value: 3, LabelSource.JUDGE.value: 2, LabelSource.RULE.value: 1}


def add_label(
    session: Session,
    response_id: int,
    category: str,
    *,
    source: LabelSource | str,
    confidence: float = 1.0,
    evidence: Mapping[str, Any] | None = None,
    first_error_step: int | None = None,
    categorizer_version: str | None = None,
    author: str | None = None,
    note: str | None = None,
    created_at: datetime | None = None,
    refresh: bool = True,
) -> CategoryLabel:
    """Store a label. A new `rule` label replaces the response's previous rule labels."""
    source = str(source)
    if source == LabelSource.RULE.value:
        session.execute(
            delete(CategoryLabel).where(
                CategoryLabel.response_id == response_id, CategoryLabel.source == LabelSource.RULE.value
            )
        )
    label = CategoryLabel(
        response_id=response_id,
        category=category,
        source=source,
        confidence=confidence,
        evidence=dict(evidence or {}),
        first_error_step=first_error_step,
        categorizer_version=categorizer_version,
        author=author,
        note=note,
        created_at=created_at or utcnow(),
    )
    session.add(label)
    session.flush()
    if refresh:
        refresh_effective_category(session, [response_id])
    return label


def add_human_label(
    session: Session, response_id: int, category: str, *, author: str, note: str | None = None
) -> CategoryLabel:
    """A person's verdict: always wins over rule and judge labels, never touched by re-categorization."""
    return add_label(
        session, response_id, category, source=LabelSource.HUMAN, confidence=1.0, author=author, note=note
    )


def default_author() -> str:
    """Who a human label is by when nobody says: the OS user (the dashboard's "Triage author", `labels import`)."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in containers without a passwd entry
        return "anonymous"


def recency(created_at: datetime, label_id: int) -> tuple[datetime, int]:
    """Sort key of "newest" among labels of one source: the latest `created_at`, then the highest id."""
    return (created_at, label_id)


def effective_label(labels: Iterable[CategoryLabel]) -> CategoryLabel | None:
    best: CategoryLabel | None = None
    for lab in labels:
        if best is None:
            best = lab
            continue
        key = (_SOURCE_RANK.get(lab.source, 0), *recency(lab.created_at, lab.id))
        best_key = (_SOURCE_RANK.get(best.source, 0), *recency(best.created_at, best.id))
        if key > best_key:
            best = lab
    return best


def refresh_effective_category(session: Session, response_ids: Iterable[int]) -> None:
    """Recompute `response.category*` from the labels of the given responses."""
    ids = list(dict.fromkeys(response_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        by_response: dict[int, list[CategoryLabel]] = {i: [] for i in chunk}
        for lab in session.scalars(select(CategoryLabel).where(CategoryLabel.response_id.in_(chunk))):
            by_response[lab.response_id].append(lab)
        for rid, labels in by_response.items():
            best = effective_label(labels)
            session.execute(
                update(Response)
                .where(Response.id == rid)
                .values(
                    category=best.category if best else None,
                    category_source=best.source if best else None,
                    category_confidence=best.confidence if best else None,
                )
            )


def labels_for(session: Session, response_id: int) -> list[CategoryLabel]:
    return list(
        session.scalars(
            select(CategoryLabel)
            .where(CategoryLabel.response_id == response_id)
            .order_by(CategoryLabel.created_at, CategoryLabel.id)
        )
    )
