"""Shared fixtures: where the real data lives, and temp-file databases that are disposed after each test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from db.session import make_engine

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("ABEL_TRIAGE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
ABEL_OUTPUTS = SHARED_DATA / "abel-outputs"
BENCHMARKS = SHARED_DATA / "benchmarks"


def require_path(path: Path) -> Path:
    """Skip the calling test with a clear reason when a piece of the shared data is absent."""
    if not path.exists():
        pytest.skip(f"real data not found at {path} (expected ../shared/data beside the repository)")
    return path


@pytest.fixture
def abel_outputs() -> Path:
    return require_path(ABEL_OUTPUTS)


@pytest.fixture
def benchmarks_dir() -> Path:
    return require_path(BENCHMARKS)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'triage.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def fresh_streamlit_caches() -> Iterator[None]:
    """Clear Streamlit's caches around a dashboard test (they outlive one AppTest run)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
