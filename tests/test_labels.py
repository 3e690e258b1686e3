"""Labels: human > judge > rule, rule labels replaced by newer rule labels, and two triagers at once lose nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.labels import add_human_label, add_label
from db.models import CategoryLabel, Response, utcnow
from db.session import make_engine, session_scope
from tests import dashboard_seed


def _effective(engine, rid: int) -> tuple[str | None, str | None]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        r = s.get(Response, rid)
        assert r is not None
        return r.category, r.category_source


def test_precedence_human_over_judge_over_rule(engine) -> None:  # type: ignore[no-untyped-def]
    ids = dashboard_seed.seed(engine)
    rid = ids[("M-7B", "gsm8k", 2)]  # seeded with a rule label `reasoning`
    later = utcnow() + timedelta(seconds=5)
    with session_scope(engine) as s:
        add_label(s, rid, "misread_quantity", source="judge", confidence=0.6)
    assert _effective(engine, rid) == ("misread_quantity", "judge")
    with session_scope(engine) as s:
        add_label(s, rid, "arithmetic", source="rule", categorizer_version="99", created_at=later)
    assert _effective(engine, rid) == ("misread_quantity", "judge"), "a newer rule label never beats a judge"
    with session_scope(engine) as s:
        add_human_label(s, rid, "gold_suspect", author="ana")
    with session_scope(engine) as s:
        add_label(s, rid, "arithmetic", source="rule", categorizer_version="100")
        rule_labels = s.scalars(select(CategoryLabel).where(CategoryLabel.response_id == rid,
                                                            CategoryLabel.source == "rule")).all()
    assert _effective(engine, rid) == ("gold_suspect", "human")
    assert [lab.categorizer_version for lab in rule_labels] == ["100"], "a new rule label replaces older ones"


def test_two_triagers_at_once_lose_nothing(engine, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ids = sorted(dashboard_seed.seed(engine).values())
    errors: list[BaseException] = []

    def triager(author: str, order: list[int]) -> None:
        own = make_engine(db_url)  # a second browser session: its own connection pool
        try:
            for round_ in range(3):
                for rid in order:
                    with session_scope(own) as s:
                        add_human_label(s, rid, "reasoning" if round_ % 2 else "arithmetic", author=author,
                                        note=f"{author} round {round_}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=triager, args=("ana", ids)),
               threading.Thread(target=triager, args=("ben", ids[::-1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    with Session(engine) as s:
        human = s.scalar(select(func.count()).select_from(CategoryLabel).where(CategoryLabel.source == "human"))
        effective = s.execute(select(Response.category, Response.category_source)
                              .where(Response.id.in_(ids))).all()
    assert human == 2 * 3 * len(ids)
    assert all(src == "human" and cat == "arithmetic" for cat, src in effective), "last round of both wins"
