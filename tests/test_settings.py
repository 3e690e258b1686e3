"""Every setting is documented in the README with its default (settings are data)."""

from __future__ import annotations

import pytest

from db.settings import SETTINGS, get_setting
from tests.conftest import REPO_ROOT


def test_every_setting_is_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        row = next((ln for ln in readme.splitlines() if ln.startswith(f"| `{setting.env}`")), None)
        assert row is not None, f"{setting.env} is not documented in README.md"
        if setting.default:
            assert f"`{setting.default}`" in row, f"README gives another default for {setting.env}"


def test_explicit_then_environment_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ABEL_TRIAGE_DB", raising=False)
    assert get_setting("database") == "./abel_triage.db"
    monkeypatch.setenv("ABEL_TRIAGE_DB", "/data/team.db")
    assert get_setting("database") == "/data/team.db"
    assert get_setting("database", "postgresql://h/db") == "postgresql://h/db"
    monkeypatch.delenv("ABEL_TRIAGE_DASHBOARD_URL", raising=False)
    assert get_setting("dashboard_url") is None
