"""A real browser on the running dashboard: `streamlit run dashboard/app.py` on 127.0.0.1 with a free port,
driven by Playwright with Debian's /usr/bin/chromium (never a downloaded browser). Opens every page, waits for
the script to finish, checks visible text and that Vega charts rendered, and saves screenshots to
test-artifacts/.

The database is the real import of ../shared/data/abel-outputs when it is present, else the small hand-made
one of tests/dashboard_seed.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import Response
from db.session import make_engine
from tests import dashboard_seed
from tests.conftest import ABEL_OUTPUTS, BENCHMARKS, REPO_ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run browser tests")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python package) is not installed")
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'dash.db'}"
    engine = make_engine(url)
    try:
        if ABEL_OUTPUTS.exists() and BENCHMARKS.exists():
            from db.grading import grade_responses
            from db.importer import import_abel_outputs

            import_abel_outputs(engine, ABEL_OUTPUTS, benchmarks_dir=BENCHMARKS)
            grade_responses(engine)
            try:  # optional: without the categorizer every failure shows as "uncategorized"
                from db.categorize import categorize
            except ImportError:
                pass
            else:
                categorize(engine)
            with engine.connect() as conn:
                first_failure = conn.execute(
                    select(func.min(Response.id)).where(Response.correct.is_(False))).scalar_one()
            expect = {"model": "Abel-7B-001", "big_model": "Abel-70B-001", "deep_link": first_failure}
        else:
            ids = dashboard_seed.seed(engine)
            expect = {"model": "M-7B", "big_model": "M-70B", "deep_link": ids[("M-7B", "gsm8k", 1)]}
    finally:
        engine.dispose()
    return {"url": url, **expect}


@contextmanager
def running_dashboard(db_url: str, **env_extra: str) -> Iterator[str]:
    """`streamlit run dashboard/app.py` on a free loopback port against `db_url`; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "ABEL_TRIAGE_DB": db_url, **env_extra}
    streamlit = Path(sys.executable).with_name("streamlit")
    proc = subprocess.Popen(
        [str(streamlit), "run", "dashboard/app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"streamlit did not start:\n{out}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(dataset: dict[str, object]) -> Iterator[str]:
    # The emulator's token, so the Limitations page can sync against tests/github_emulator.py.
    with running_dashboard(str(dataset["url"]), GITHUB_TOKEN="test-token") as base:
        yield base


@pytest.fixture(scope="module")
def browser(dataset: dict[str, object]) -> Iterator[object]:
    """One Chromium for the module (Playwright's sync API allows one instance per thread)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(browser, server: str) -> Iterator[object]:  # type: ignore[no-untyped-def]
    pg = browser.new_page(viewport={"width": 1500, "height": 2200})
    yield pg
    pg.close()


def _open(page, url: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=30_000)
    page.wait_for_timeout(1_000)  # let vega-embed and the data grid paint
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def _charts(page) -> int:  # type: ignore[no-untyped-def]
    return page.locator(".vega-embed canvas, .vega-embed svg.marks").count()


def test_overview(page, server: str, dataset: dict) -> None:  # type: ignore[no-untyped-def]
    _open(page, server + "/", "overview")
    text = page.locator('[data-testid="stMainBlockContainer"]').inner_text()
    assert "Overview" in text and "Needs review" in text and "Accuracy by model and benchmark" in text
    assert _charts(page) >= 4  # heatmap, two category bars, domains, sizes
    page.get_by_text("Accuracy table (%)").click()
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "overview-table.png"), full_page=True)
    assert page.locator('[data-testid="stDataFrame"]').count() >= 1


def test_heatmap_click_narrows_failures(page, server: str, dataset: dict) -> None:  # type: ignore[no-untyped-def]
    _open(page, server + "/", "overview-before-click")
    box = page.locator(".st-key-overview_heatmap .vega-embed").bounding_box()
    assert box is not None
    # The bottom row is the largest model; its first cell starts right of the model labels.
    page.mouse.click(box["x"] + 170, box["y"] + box["height"] - 40)
    page.wait_for_url("**/failures**", timeout=30_000)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
    page.wait_for_timeout(1_000)
    page.screenshot(path=str(ARTIFACTS / "failures-after-click.png"), full_page=True)
    filters = page.locator('[data-testid="stMultiSelect"]').all_inner_texts()
    assert any(dataset["big_model"] in f for f in filters), filters
    # Going back to the overview must stay there (the old chart selection must not fire again).
    page.get_by_role("link", name="Overview").click()
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
    page.wait_for_timeout(2_000)
    assert "/failures" not in page.url
    assert page.locator('[data-testid="stMainBlockContainer"] h1').first.inner_text().startswith("Overview")


def test_failures_deep_link_highlights_evidence(page, server: str, dataset: dict) -> None:  # type: ignore[no-untyped-def]
    _open(page, f"{server}/?response={dataset['deep_link']}", "failures-deep-link")
    assert "/failures" in page.url
    text = page.locator('[data-testid="stMainBlockContainer"]').inner_text()
    assert "Failures" in text and "failures match" in text and "Question" in text and "Response" in text
    assert dataset["model"] in text
    # Leaving the page must not carry `?response=` along (it would bounce back to Failures).
    page.get_by_role("link", name="Overview").click()
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
    page.wait_for_timeout(1_500)
    assert "response=" not in page.url
    assert page.locator('[data-testid="stMainBlockContainer"] h1').first.inner_text().startswith("Overview")


def test_limitations(page, server: str, dataset: dict) -> None:  # type: ignore[no-untyped-def]
    _open(page, f"{server}/limitations", "limitations")
    text = page.locator('[data-testid="stMainBlockContainer"]').inner_text()
    assert "Limitations & roadmap" in text and "Milestone “Bernoulli”" in text
    assert "limitations mitigated" in text and "Candidate fixes" in text and "Sync with GitHub" in text
    assert "Robustness: answers change" in text  # seeded from analysis/limitations.toml on first open
    assert _charts(page) >= 2  # failures per limitation, the selected limitation's trend
    # Pick another limitation, open its body preview and look at the sync section further down.
    page.locator(".st-key-limitations_selected").click()
    page.get_by_role("option", name="Calculation reliability: wrong arithmetic in a written step").click()
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
    page.locator(".st-key-limitations_selected").scroll_into_view_if_needed()
    page.wait_for_timeout(1_000)
    page.screenshot(path=str(ARTIFACTS / "limitations-trend.png"))
    page.get_by_text("Issue body preview").click()
    page.wait_for_timeout(1_000)
    main = page.locator('[data-testid="stMainBlockContainer"]')
    text = main.inner_text()
    assert "Counted from: categories arithmetic" in text and "Representative failures" in text
    assert _charts(page) >= 2
    page.get_by_text("Sync with GitHub").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "limitations-detail.png"))


def _rerun(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_timeout(600)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
    page.wait_for_timeout(600)


def test_limitations_sync_dry_run_then_apply(page, server: str) -> None:  # type: ignore[no-untyped-def]
    from analysis.limitations import find_marker, load_limitations
    from tests.github_emulator import running_emulator

    n = len(load_limitations())
    with running_emulator() as emu:
        emu.add_repo("gair/abel")
        _open(page, f"{server}/limitations", "limitations-before-sync")
        for key, value in (("limitations_repo", "gair/abel"), ("limitations_api_url", emu.url)):
            box = page.locator(f".st-key-_w_{key} input")
            box.fill(value)
            box.press("Enter")
            _rerun(page)
        page.get_by_role("button", name="Dry run: plan the sync").click()
        _rerun(page)
        main = page.locator('[data-testid="stMainBlockContainer"]')
        assert f"Plan for gair/abel: {n} create" in main.inner_text()
        assert emu.writes == 0 and not emu.issues("gair/abel")
        page.get_by_text("Plan for gair/abel").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "limitations-plan.png"))
        assert page.get_by_role("button", name="Apply to GitHub").is_disabled()
        page.get_by_text("I reviewed this plan").click()
        _rerun(page)
        page.get_by_role("button", name="Apply to GitHub").click()
        _rerun(page)
        assert f"Synced gair/abel: {n} create" in main.inner_text()
        slugs = [find_marker(i["body"]) for i in emu.issues("gair/abel")]
        assert len(slugs) == n and len(set(slugs)) == n
        page.screenshot(path=str(ARTIFACTS / "limitations-after-sync.png"), full_page=True)


@pytest.mark.parametrize("name,heading", [("triage", "Triage"), ("robustness", "Robustness"),
                                          ("compare", "Compare runs")])
def test_other_pages(page, server: str, name: str, heading: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, f"{server}/{name}", name)
    text = page.locator('[data-testid="stMainBlockContainer"]').inner_text()
    assert heading in text
    if name == "robustness":
        assert "Flip rate" in text and _charts(page) >= 1
    if name == "compare":
        assert "McNemar exact p" in text and _charts(page) >= 1
    if name == "triage":
        assert "Why this needs a person" in text and "labelled by people" in text


def test_empty_database_explains_how_to_import(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A fresh install with no data: each page says, in two lines, how to import (with the exact commands)."""
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    with running_dashboard(empty) as base:
        pg = browser.new_page(viewport={"width": 1500, "height": 1100})
        try:
            for name, path in (("overview", ""), ("failures", "failures"), ("limitations", "limitations")):
                _open(pg, f"{base}/{path}", f"empty-{name}")
                text = pg.locator('[data-testid="stMainBlockContainer"]').inner_text()
                assert "no responses yet" in text
                assert "abel-triage import abel ../shared/data/abel-outputs" in text
                assert _charts(pg) == 0
        finally:
            pg.close()
