"""Start a command, SIGKILL it once a condition on its progress holds: the kill-half-way-then-rerun tests."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def kill_when(cmd: Sequence[str], ready: Callable[[], bool], *, cwd: Path, env: dict[str, str] | None = None,
              timeout: float = 120) -> int:
    """Run `cmd`; SIGKILL it as soon as `ready()` is true. Returns its exit code (0 if it finished first)."""
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if ready():
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.returncode


def stored_responses(db_path: Path) -> int:
    """Responses committed so far (0 while the file or its schema does not exist yet)."""
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(db_path, timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM response").fetchone()[0])
    except sqlite3.OperationalError:  # schema not there yet
        return 0
