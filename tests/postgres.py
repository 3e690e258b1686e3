"""A private PostgreSQL server for the tests: `initdb` into a temp folder, `pg_ctl start` on 127.0.0.1.

Uses Debian's postgresql server binaries (`.ci/run` installs them through `make test`); tests that need it skip
with a reason when they are absent. As root, the server runs as the `postgres` user, as PostgreSQL requires.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PostgresUnavailable("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_postgres() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh, empty PostgreSQL database; stop and delete it afterwards."""
    bindir = _bin_dir()
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="abel-triage-pg-"))
    if os.geteuid() == 0:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and there is no `postgres` user to run the server") from None
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    log = root / "server.log"

    def run(*args: str) -> None:
        proc = subprocess.run(as_user + list(args), capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise PostgresUnavailable(f"{Path(args[0]).name} failed: {proc.stderr.strip()[-300:]}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o",
            f"-F -p {port} -k {root} -c listen_addresses=127.0.0.1", "start")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)
    finally:
        shutil.rmtree(root, ignore_errors=True)
