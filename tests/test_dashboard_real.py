"""The dashboard on a temp-file database filled by the real import of ../shared/data/abel-outputs (skipped when
that data is absent): the overview shows Abel's published 59.74 for Abel-7B-001 on gsm8k."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from db import queries as q
from db.grading import grade_responses
from db.importer import import_abel_outputs
from db.models import Response
from db.session import make_engine
from tests.conftest import ABEL_OUTPUTS, BENCHMARKS, require_path

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


@pytest.fixture(scope="module")
def real_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_path(ABEL_OUTPUTS)
    require_path(BENCHMARKS)
    url = f"sqlite:///{tmp_path_factory.mktemp('real') / 'abel.db'}"
    engine = make_engine(url)
    import_abel_outputs(engine, ABEL_OUTPUTS, benchmarks_dir=BENCHMARKS)
    grade_responses(engine)
    try:  # the categorizer is optional here: without it every failure is "uncategorized"
        from db.categorize import categorize
    except ImportError:
        pass
    else:
        categorize(engine)
    engine.dispose()
    yield url


@pytest.fixture(autouse=True)
def _env(real_db: str, monkeypatch: pytest.MonkeyPatch, fresh_streamlit_caches: None) -> None:
    monkeypatch.setenv("ABEL_TRIAGE_DB", real_db)


def _run(page: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    if page != "overview":
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_overview_shows_published_accuracy(real_db: str) -> None:
    at = _run("overview")
    m = {x.label: x.value for x in at.metric}
    assert m["Models"] == "3" and m["Benchmarks"] == "3" and m["Responses"] == "9,914"
    table = next(d.value for d in at.dataframe if "gsm8k · published" in d.value.columns).set_index("model")
    assert table.loc["Abel-7B-001", "gsm8k · published"] == 59.74
    assert table.loc["Abel-13B-001", "gsm8k · published"] == 66.41
    assert table.loc["Abel-70B-001", "gsm8k · published"] == 83.62
    engine = make_engine(real_db)
    with engine.connect() as conn:
        wrong = conn.execute(select(func.count()).where(Response.correct.is_(False))).scalar_one()
        review = q.count_needs_review(engine)
    engine.dispose()
    assert m["Failures"] == f"{wrong:,}"
    assert m["Needs review"] == f"{review:,}"  # the tile (from the breakdown) agrees with the queue's SQL


def test_failures_category_filter_counts(real_db: str) -> None:
    engine = make_engine(real_db)
    with engine.connect() as conn:
        top = conn.execute(
            select(Response.category, func.count()).where(Response.correct.is_(False))
            .group_by(Response.category).order_by(func.count().desc()).limit(1)
        ).one()
    engine.dispose()
    category = top[0] or q.UNCATEGORIZED
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.session_state["failures_categories"] = [category]
    at.switch_page("app_pages/failures.py").run()
    assert not at.exception
    assert any(f"**{top[1]:,}** failures match" in c.value for c in at.caption)
    assert set(at.dataframe(key="failures_table").value["category"]) == {category}


@pytest.mark.parametrize("page", ["failures", "triage", "robustness", "compare"])
def test_every_page_renders_on_real_data(page: str) -> None:
    at = _run(page)
    assert not at.info or "no responses yet" not in at.info[0].value
    if page == "robustness":
        assert len([x for x in at.metric if x.label == "Flip rate"]) == 3  # 7B, 13B, 70B: gsm8k vs gsm8k_robust
    if page == "failures":
        assert len(at.dataframe(key="failures_table").value) == 200
