"""`--from-github`: downloads at the pinned commit are checked against pinned SHA-256 and fail clearly offline.

A loopback HTTP server stands in for raw.githubusercontent.com; no test touches the internet.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from analysis.abel_outputs import PUBLISHED_COMMIT, PUBLISHED_SHA256
from db import sources


@pytest.fixture
def mirror(tmp_path: Path, abel_outputs: Path) -> Iterator[tuple[str, Path]]:
    """Serve a copy of the published files laid out as GAIR-NLP/abel/<commit>/outputs/<path>."""
    root = tmp_path / "mirror"
    for rel in PUBLISHED_SHA256:
        target = root / "GAIR-NLP" / "abel" / PUBLISHED_COMMIT / "outputs" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((abel_outputs / rel).read_bytes())
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/GAIR-NLP/abel/{{commit}}/outputs/{{path}}", root
    server.shutdown()


def test_download_verifies_hashes_and_reuses_verified_copies(
    mirror: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = mirror
    monkeypatch.setattr(sources, "RAW_URL", url)
    dest = sources.download_published_outputs(tmp_path / "cache")
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*.jsonl")) == sorted(PUBLISHED_SHA256)
    monkeypatch.setattr(sources, "RAW_URL", "http://127.0.0.1:9/unreachable/{commit}/{path}")
    assert sources.download_published_outputs(tmp_path / "cache") == dest  # verified copies are not fetched again


def test_a_tampered_file_is_refused(mirror: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, root = mirror
    tampered = root / "GAIR-NLP" / "abel" / PUBLISHED_COMMIT / "outputs" / "gsm8k" / "7b.jsonl"
    tampered.write_bytes(tampered.read_bytes().replace(b'"result": true', b'"result": false', 1))
    monkeypatch.setattr(sources, "RAW_URL", url)
    with pytest.raises(sources.SourceError, match="differs from the pinned"):
        sources.download_published_outputs(tmp_path / "cache")
    assert not (tmp_path / "cache" / "gsm8k" / "7b.jsonl").exists()


def test_offline_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(sources, "RAW_URL", f"http://127.0.0.1:{port}/{{commit}}/{{path}}")
    with pytest.raises(sources.SourceError, match=r"cannot download .* \(offline\?\): ConnectionError"):
        sources.download_published_outputs(tmp_path / "cache", timeout=2)


def test_local_source_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABEL_OUTPUTS", str(tmp_path / "mine"))
    assert sources.find_local_outputs(tmp_path / "repo") == tmp_path / "mine"
    monkeypatch.delenv("ABEL_OUTPUTS")
    assert sources.find_local_outputs(tmp_path / "repo") is None
    (tmp_path / "shared" / "data" / "abel-outputs").mkdir(parents=True)
    assert sources.find_local_outputs(tmp_path / "repo") == tmp_path / "shared" / "data" / "abel-outputs"
