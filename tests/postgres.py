"""A throwaway PostgreSQL cluster for the test session (Debian's `postgresql` binaries).

initdb + pg_ctl in a temp dir, listening only on a unix socket there (no TCP port to clash
with other checkouts). As root the server runs as the `postgres` user (PostgreSQL refuses
root). Each test gets an empty database (`fresh_database`), so tests never see each other.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

_START_S = 60


def binaries() -> Path | None:
    """The newest installed PostgreSQL bin dir (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


class Cluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="edgefleet-pg-"))
        self.data = self.dir / "data"
        self._as_postgres = os.geteuid() == 0
        self._ids = itertools.count(1)
        self.admin_url = f"postgresql+psycopg://{self._user()}@/postgres?host={self.dir}"

    def _user(self) -> str:
        return "postgres" if self._as_postgres else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str) -> None:
        demote: Callable[[], None] | None = None
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")

            def demote() -> None:
                os.setgid(entry.pw_gid)
                os.setuid(entry.pw_uid)

        subprocess.run([str(self.bindir / args[0]), *args[1:]], check=True, capture_output=True,
                       text=True, timeout=_START_S, preexec_fn=demote, cwd=self.dir)

    def start(self) -> None:
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        try:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-E", "UTF8",
                      "--no-sync", "-U", self._user())
            opts = (f"-c listen_addresses='' -c unix_socket_directories={self.dir} "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                    "-c max_connections=200")
            self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l",
                      str(self.dir / "server.log"), "-w", "-t", str(_START_S), "start")
        except subprocess.CalledProcessError as exc:
            log = self.dir / "server.log"
            detail = log.read_text()[-2000:] if log.exists() else ""
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}{detail}") from None

    def fresh_database(self) -> str:
        """An empty database of its own; returns its SQLAlchemy URL."""
        name = f"t{os.getpid()}_{next(self._ids)}"
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return f"postgresql+psycopg://{self._user()}@/{name}?host={self.dir}"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
