"""Every dashboard page under Streamlit's AppTest, against an empty and a hand-made temp-file database
(tests/dashboard_seed.py): no exception, the figures a person sees, and triage actions that write labels."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from dashboard import charts
from dashboard.state import IMPORT_COMMANDS
from db import queries as q
from db.models import CategoryLabel, Response
from tests import dashboard_seed as seed

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
TITLES = {"overview": "Overview", "failures": "Failures", "triage": "Triage", "robustness": "Robustness",
          "compare": "Compare runs"}
PAGES = list(TITLES)


pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


@pytest.fixture
def seeded(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str, int], int]:
    monkeypatch.setenv("ABEL_TRIAGE_DB", db_url)
    return seed.seed(engine)


def open_page(page: str, **state: object) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
    if page != "overview" or state:
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def frame_with(at: AppTest, column: str):  # type: ignore[no-untyped-def]
    """The first table on the page that has `column`."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with column {column!r}")


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


@pytest.mark.parametrize("page", PAGES)
def test_empty_database_explains_how_to_import(page: str, engine: Engine, db_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABEL_TRIAGE_DB", db_url)
    at = open_page(page)
    assert at.title[0].value == TITLES[page]
    assert "no responses yet" in at.info[0].value
    assert at.code[0].value == IMPORT_COMMANDS
    assert "abel-triage import abel ../shared/data/abel-outputs --benchmarks ../shared/data/benchmarks" in (
        at.code[0].value)


def test_overview_numbers(seeded: dict) -> None:
    at = open_page("overview")
    m = metrics(at)
    assert m["Models"] == "2" and m["Benchmarks"] == "3"
    assert m["Responses"] == str(seed.EXPECTED_RESPONSES)
    assert m["Failures"] == str(seed.EXPECTED_FAILURES)
    assert m["Needs review"] == str(seed.EXPECTED_NEEDS_REVIEW)
    table = frame_with(at, "gsm8k · published").set_index("model")
    assert table.loc["M-7B", "gsm8k · published"] == 75.0
    assert table.loc["M-7B", "gsm8k · regraded"] == 50.0
    assert list(table.index) == ["M-7B", "M-70B"]  # smallest model first


def test_overview_global_filter_changes_tiles(seeded: dict) -> None:
    at = open_page("overview", global_models=["M-7B"])
    at.switch_page("app_pages/overview.py").run()
    assert metrics(at)["Models"] == "1" and metrics(at)["Failures"] == "5"


def test_overview_click_state_narrows_failures(seeded: dict) -> None:
    # What a click on the (M-7B, arithmetic) bar segment stores before switching to the Failures page.
    at = open_page("failures", failures_models=["M-7B"], failures_categories=["arithmetic"])
    assert "**1** failures match" in captions(at)
    assert at.dataframe(key="failures_table").value["response_id"].tolist() == [seed_id(seeded, "M-7B", "gsm8k", 1)]


def seed_id(ids: dict, model: str, bench: str, i: int) -> int:
    return int(ids[(model, bench, i)])


def test_chart_selections_are_named_for_click_through(seeded: dict, engine: Engine) -> None:
    heat = charts.accuracy_heatmap(q.accuracy_df(engine)).to_dict()
    assert heat["params"][0]["name"] == charts.HEATMAP_SELECTION
    bars = charts.failures_by_category(q.category_counts_df(engine), "model").to_dict()
    assert bars["params"][0]["name"] == charts.BAR_SELECTION


def test_failures_table_and_deep_link_detail(seeded: dict) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    rid = seed_id(seeded, "M-7B", "gsm8k", 1)
    at.query_params["response"] = str(rid)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Failures"  # the root deep link opened the Failures page
    assert f"**{seed.EXPECTED_FAILURES}** failures match" in captions(at)
    assert len(at.dataframe(key="failures_table").value) == seed.EXPECTED_FAILURES
    assert at.subheader[0].value == "M-7B · gsm8k · problem 1"
    highlighted = " ".join(e.value for e in at.error)
    assert "Step 2" in highlighted and "`12 * 15` is written as `170`; it is `180`" in highlighted
    assert "12 \\* 15 = 170" in highlighted
    shown = {m.label: m.value for m in at.metric}
    assert shown["Extracted"] == "165" and shown["Gold"] == "176"
    md = " ".join(m.value for m in at.markdown)
    assert "**M-70B**: correct" in md  # the same problem, other models


def test_failures_perturbed_shows_original(seeded: dict) -> None:
    at = open_page("failures", failures_selected=seed_id(seeded, "M-7B", "gsm8k_robust", 0))
    md = " ".join(m.value for m in at.markdown)
    assert "Perturbed problem and its original" in md
    assert "M-7B: correct, answer `175`" in md and "M-7B: wrong, answer `165`" in md


def test_failures_text_search(seeded: dict) -> None:
    at = open_page("failures", failures_text="12 * 15 = 170")
    assert at.dataframe(key="failures_table").value["response_id"].tolist() == [seed_id(seeded, "M-7B", "gsm8k", 1)]


def test_triage_confirm_writes_human_label(seeded: dict, engine: Engine) -> None:
    at = open_page("triage", triage_author="alice")
    queue = q.triage_queue_ids(engine, limit=10)
    first = queue[0]
    assert at.subheader[0].value.startswith("M-7B · gsm8k")  # oldest first: M-7B gsm8k #2, reasoning
    assert "fallback category `reasoning`" in at.info[0].value
    at.button(key="triage_confirm").click().run()
    assert not at.exception
    with engine.connect() as conn:
        lab = conn.execute(select(CategoryLabel).where(CategoryLabel.response_id == first,
                                                       CategoryLabel.source == "human")).one()
        source = conn.execute(select(Response.category_source).where(Response.id == first)).scalar_one()
    assert (lab.category, lab.author) == ("reasoning", "alice") and lab.created_at is not None
    assert source == "human"
    assert q.triage_queue_ids(engine, limit=10) == queue[1:]
    assert "1 labelled by people" in at.get("progress")[0].proto.text


def test_triage_gold_suspect_with_note_and_skip(seeded: dict, engine: Engine) -> None:
    at = open_page("triage", triage_author="bob")
    queue = q.triage_queue_ids(engine, limit=10)
    at.button(key="triage_skip").click().run()  # skip: no label, next item shown
    with engine.connect() as conn:
        assert conn.execute(select(CategoryLabel).where(CategoryLabel.source == "human")).first() is None
    assert f"problem {2}" in at.subheader[0].value and at.subheader[0].value.startswith("M-70B · gsm8k")
    at.text_input(key=f"triage_note_{queue[1]}").input("all models say 175; gold looks wrong")
    at.button(key="triage_gold_suspect").click().run()
    with engine.connect() as conn:
        lab = conn.execute(select(CategoryLabel).where(CategoryLabel.source == "human")).one()
    assert (lab.response_id, lab.category, lab.author) == (queue[1], "gold_suspect", "bob")
    assert lab.note == "all models say 175; gold looks wrong"


def test_robustness_page(seeded: dict) -> None:
    at = open_page("robustness")
    rates = [m.value for m in at.metric if m.label == "Flip rate"]
    assert rates == ["50.00%", "33.33%"]  # M-7B 1 of 2, M-70B 1 of 3 right originals flip
    assert "memorized_original: 1" in captions(at)
    table = at.dataframe(key="robustness_table").value
    assert table["response_id"].tolist() == [seed_id(seeded, "M-7B", "gsm8k_robust", 0)]


def test_compare_page(seeded: dict, engine: Engine) -> None:
    at = open_page("compare")
    m = metrics(at)
    assert m["Fixed (A wrong → B right)"] == "1" and m["Regressed (A right → B wrong)"] == "0"
    assert m["Both wrong"] == "1" and m["Both right"] == "2" and m["McNemar exact p"] == "1"
    runs = q.runs_df(engine, q.Filters(benchmarks=("gsm8k",))).set_index("model")["run_id"]
    at.selectbox(key="compare_run_a").set_value(int(runs["M-70B"])).run()  # 70B as A: the 7B regressed once
    assert metrics(at)["Regressed (A right → B wrong)"] == "1"
    assert at.dataframe(key="compare_table").value["response_id"].tolist() == [seed_id(seeded, "M-7B", "gsm8k", 1)]
