"""Helpers for testing code that uses aidledger (and for aidledger's own tests).

:class:`PostgresServer` starts a throw-away PostgreSQL server on loopback from
the binaries of Debian's ``postgresql`` package, as the ``postgres`` user when
run as root (PostgreSQL refuses to run as root), and removes it on stop.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries on this machine, or the server would not start."""


def find_bindir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``, newest version first, or ``None``."""
    if os.environ.get("AIDLEDGER_PG_BINDIR"):
        return Path(os.environ["AIDLEDGER_PG_BINDIR"])
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    for candidate in candidates:
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.define
class PostgresServer:
    """A running throw-away server.  ``url(database)`` gives a SQLAlchemy URL for it."""

    port: int
    directory: Path
    bindir: Path
    user: str = "postgres"

    @classmethod
    def start(cls, *, durable: bool = False) -> PostgresServer:
        """Start a new server; ``durable=False`` turns fsync off (tests only)."""
        server = cls._new()
        server._run(
            [
                str(server.bindir / "initdb"),
                "-D",
                str(server.directory / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        server._launch(durable=durable)
        return server

    def start_standby(self) -> PostgresServer:
        """Start a streaming hot standby of this server (``pg_basebackup -R``); stop it on its own.

        The standby answers read-only queries on its own port, replays what this
        primary writes (see :meth:`catch_up`), and reports its oldest snapshot
        back (``hot_standby_feedback``) so that a long read is not cancelled.
        """
        standby = self._new()
        try:
            standby._run(
                [
                    str(self.bindir / "pg_basebackup"),
                    *("-h", "127.0.0.1", "-p", str(self.port), "-U", self.user),
                    *("-D", str(standby.directory / "data"), "-R", "-X", "stream", "-c", "fast"),
                ]
            )
            standby._launch(durable=False, extra=" -c hot_standby=on -c hot_standby_feedback=on")
        except PostgresUnavailable:
            standby.stop()
            raise
        return standby

    def catch_up(self, primary: PostgresServer, *, timeout: float = 60.0) -> str:
        """Wait until this standby has replayed everything ``primary`` wrote so far; the primary's LSN then.

        "Wrote" is the primary's insert position: with ``synchronous_commit=off`` (a server started without
        ``durable``) a commit returns before its WAL is written, so the write position can lag the last commits.
        """
        import psycopg

        with psycopg.connect(primary._dsn(), autocommit=True) as connection:
            row = connection.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        lsn = str(row[0]) if row else ""
        deadline = time.monotonic() + timeout
        with psycopg.connect(self._dsn(), autocommit=True) as connection:
            while True:
                replayed = connection.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()
                if replayed and replayed[0]:
                    return lsn
                if time.monotonic() > deadline:
                    raise PostgresUnavailable(f"the standby on port {self.port} did not replay up to {lsn}")
                time.sleep(0.02)

    @classmethod
    def _new(cls) -> PostgresServer:
        """A server not started yet: its directory (the postgres user's when run as root), port and binaries."""
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable("no PostgreSQL binaries (install Debian's postgresql package)")
        directory = Path(tempfile.mkdtemp(prefix="aidledger-pg-"))
        os.chmod(directory, 0o755)  # noqa: S103 - the postgres user must reach its data directory
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
        return cls(port=_free_port(), directory=directory, bindir=bindir)

    def _launch(self, *, durable: bool, extra: str = "") -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.directory / "data"),
                "-o",
                options + extra,
                "-l",
                str(self.directory / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def _dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={database}"

    def _run(self, command: list[str]) -> None:
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own binaries
        if result.returncode != 0:
            log = self.directory / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"{' '.join(command)} failed: {result.stderr.strip()}\n{tail}")

    def url(self, database: str = "postgres", *, options: str | None = None) -> str:
        query = f"?options={options}" if options else ""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}{query}"

    def create_database(self, name: str | None = None) -> str:
        """Create a database and return its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._dsn(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(PostgresUnavailable):
            self._run(
                [str(self.bindir / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate", "-w", "stop"]
            )
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL server for the duration of a ``with`` block."""
    server = PostgresServer.start(durable=durable)
    try:
        # The server answers on its port a moment after pg_ctl returns on some machines.
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
                break
            time.sleep(0.05)
        yield server
    finally:
        server.stop()
