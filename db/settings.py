"""Settings are data: one table (name, environment variable, default, help) that the command line, the dashboard's
settings panel and the README draw on. A test fails when a setting is missing from the README."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str | None
    help: str

    def value(self, explicit: str | None = None) -> str | None:
        """Explicit argument, then the environment variable, then the default."""
        return explicit or os.environ.get(self.env) or self.default


SETTINGS: tuple[Setting, ...] = (
    Setting("database", "ABEL_TRIAGE_DB", "./abel_triage.db",
            "Database URL or SQLite path used by the CLI and the dashboard."),
    Setting("abel_outputs", "ABEL_OUTPUTS", None,
            "Folder of Abel's published outputs that `setup` (and `make run`) imports (idempotently)."),
    Setting("github_token", "GITHUB_TOKEN", None,
            "Token for `sync github`; read from the environment only, never stored or logged."),
    Setting("dashboard_url", "ABEL_TRIAGE_DASHBOARD_URL", None,
            "Base URL of a dashboard others can reach; GitHub issue bodies link failures to it (no links when unset)."),
    Setting("shared_data", "ABEL_TRIAGE_SHARED_DATA", "../shared/data",
            "Where the tests look for the real data (skipped with a reason when absent)."),
)

BY_NAME = {s.name: s for s in SETTINGS}


def get_setting(name: str, explicit: str | None = None) -> str | None:
    return BY_NAME[name].value(explicit)
