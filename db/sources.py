"""Where Abel's published outputs come from: a local path, the shared data folder, or GitHub at a pinned commit.

`--from-github` is the only network access at run time: it downloads the seven published files from
GAIR-NLP/abel at PUBLISHED_COMMIT and refuses any whose SHA-256 differs from the pinned one.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from analysis.abel_outputs import PUBLISHED_COMMIT, PUBLISHED_SHA256, sha256_file

log = logging.getLogger(__name__)

ABEL_OUTPUTS_ENV = "ABEL_OUTPUTS"
RAW_URL = "https://raw.githubusercontent.com/GAIR-NLP/abel/{commit}/outputs/{path}"


class SourceError(Exception):
    """The outputs could not be fetched or verified."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "abel-triage" / "abel-outputs" / PUBLISHED_COMMIT


def find_local_outputs(repo_root: Path | None = None) -> Path | None:
    """`ABEL_OUTPUTS` if set, else `../shared/data/abel-outputs` beside the repository, else None."""
    env = os.environ.get(ABEL_OUTPUTS_ENV)
    if env:
        return Path(env)
    root = repo_root or Path.cwd()
    candidate = root.parent / "shared" / "data" / "abel-outputs"
    return candidate if candidate.is_dir() else None


def find_local_benchmarks(outputs: Path) -> Path | None:
    candidate = outputs.parent / "benchmarks"
    return candidate if candidate.is_dir() else None


def download_published_outputs(dest: Path | None = None, *, timeout: float = 30.0) -> Path:
    """Download (or reuse verified copies of) the published files; return the directory holding them."""
    import requests

    dest = dest or default_cache_dir()
    for rel, expected in PUBLISHED_SHA256.items():
        target = dest / rel
        if target.is_file() and sha256_file(target) == expected:
            continue
        url = RAW_URL.format(commit=PUBLISHED_COMMIT, path=rel)
        try:
            resp = requests.get(url, timeout=timeout)
            resp.raise_for_status()
        except requests.RequestException as exc:
            raise SourceError(f"cannot download {url} (offline?): {exc.__class__.__name__}") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(resp.content)
        got = sha256_file(tmp)
        if got != expected:
            tmp.unlink(missing_ok=True)
            raise SourceError(f"{url}: SHA-256 {got} differs from the pinned {expected}; refusing it")
        tmp.replace(target)
        log.info("downloaded %s", rel)
    return dest
