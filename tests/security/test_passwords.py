"""Password hygiene: a database URL's password never shows in an error, a log record or the command's output.

The session's PostgreSQL server trusts every connection; for one role of its own this module adds a
``scram-sha-256`` rule to the server's ``pg_hba.conf``, so that a wrong password really is refused.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import psycopg
import pytest

from aidledger import Aid, AidLedgerError, Ledger, LedgerUrlError, Money, StorageError, verify
from aidledger.cli.app import main
from aidledger.testing import PostgresServer
from tests.operations.conftest import APRIL

pytestmark = pytest.mark.postgres

#: The password in every URL here that must not be accepted, and must never be shown.
SECRET = "S3cret-pw"


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.frozen
class Secured:
    """A login role that must give its password, its own schema, and the server's address."""

    role: str
    password: str
    schema: str
    host: str

    def url(self, password: str | None = None, *, query: str = "") -> str:
        """The URL of the role's schema, with ``password`` in its user part and ``query`` appended."""
        user = self.role if password is None else f"{self.role}:{password}"
        return f"postgresql://{user}@{self.host}/aidledger_tests?options=-csearch_path%3D{self.schema}{query}"


@pytest.fixture(scope="module")
def secured(postgres: PostgresServer | None, pg_database: str | None) -> Iterator[Secured]:
    if postgres is None or pg_database is None:
        pytest.skip("PostgreSQL is not available on this machine")
    suffix = uuid.uuid4().hex[:8]
    found = Secured(f"pw_{suffix}", f"Right-pw-{suffix}", f"pw_{suffix}", f"127.0.0.1:{postgres.port}")
    hba = postgres.directory / "data" / "pg_hba.conf"
    rule = f"host all {found.role} 127.0.0.1/32 scram-sha-256\n"
    admin = f"host=127.0.0.1 port={postgres.port} user=postgres dbname=aidledger_tests"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {found.role} LOGIN PASSWORD '{found.password}'")
        connection.execute(f"CREATE SCHEMA {found.schema} AUTHORIZATION {found.role}")
        original = hba.read_text()
        hba.write_text(rule + original)
        connection.execute("SELECT pg_reload_conf()")
    try:
        wrong = f"host=127.0.0.1 port={postgres.port} user={found.role} password={SECRET} dbname=aidledger_tests"
        for _ in range(100):  # the server reads the new rule a moment after the reload
            try:
                psycopg.connect(wrong).close()
            except psycopg.OperationalError:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the server still accepts a wrong password")
        with Ledger.open(found.url(found.password)) as ledger:  # a ledger with a donation, for the commands
            aid = Aid(ledger)
            aid.create_fund("GENERAL")
            aid.donate("GENERAL", Money("1000", "KZT"), donor="D-1", on=APRIL, actor="cashier")
        yield found
    finally:
        hba.write_text(original)
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute("SELECT pg_reload_conf()")
            connection.execute(f"DROP SCHEMA {found.schema} CASCADE")
            connection.execute(f"DROP ROLE {found.role}")


def bad_urls(secured: Secured) -> dict[str, str]:
    """URLs carrying SECRET that cannot be used, each for a different reason."""
    port = closed_port()
    return {
        "closed port": f"postgresql://writer:{SECRET}@127.0.0.1:{port}/db?connect_timeout=2",
        "wrong password": secured.url(SECRET),
        "wrong password in the query": secured.url(query=f"&password={SECRET}"),
        "escaped wrong password": secured.url(SECRET.replace("-", "%2D")),
        "port not a number": f"postgresql://writer:{SECRET}@127.0.0.1:port/db",
        "unknown driver": f"postgresql+nosuchdriver://writer:{SECRET}@127.0.0.1:{port}/db",
        "not PostgreSQL": f"mysql://writer:{SECRET}@127.0.0.1:{port}/db",
        "bad option": f"postgresql://writer:{SECRET}@127.0.0.1:{port}/db?sslmode=bogus",
    }


def leaks(text: str, *secrets: str) -> list[str]:
    """The secrets that appear in ``text``."""
    return [secret for secret in secrets if secret in text]


def every_message(error: BaseException) -> str:
    """An error's message, its details, its traceback as printed, and every error chained to it."""
    found = []
    seen: BaseException | None = error
    while seen is not None:
        found.append(f"{seen!s} {seen!r} {getattr(seen, 'details', '')}")
        seen = seen.__cause__ or seen.__context__
    found.append("".join(traceback.format_exception(error)))
    return "\n".join(found)


def listen(caplog: pytest.LogCaptureFixture) -> None:
    """Capture every log record at DEBUG, SQLAlchemy's too (it sets its own loggers to WARNING)."""
    caplog.set_level(logging.DEBUG)
    for logger in ("sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "alembic", "psycopg"):
        caplog.set_level(logging.DEBUG, logger=logger)


def test_errors_and_logs_never_show_the_password(secured: Secured, caplog: pytest.LogCaptureFixture) -> None:
    """Bad URLs raise typed errors; no message, chained error or DEBUG log record holds the password."""
    listen(caplog)
    errors = {}
    for why, url in bad_urls(secured).items():
        with pytest.raises(AidLedgerError) as raised:
            Ledger.open(url)
        errors[why] = raised.value
        assert leaks(every_message(raised.value), SECRET) == [], why
    assert isinstance(errors["wrong password"], StorageError)
    assert "password authentication failed" in str(errors["wrong password"])
    assert isinstance(errors["port not a number"], LedgerUrlError)
    # A working URL too: the password stays out of every log line while the ledger is used.
    with Ledger.open(secured.url(secured.password)) as ledger:
        assert verify(ledger).ok
        assert leaks(f"{ledger!r} {ledger.url} {ledger.engine!r} {ledger.engine.url}", secured.password) == []
    assert caplog.records, "SQLAlchemy logged nothing: the capture is not listening"
    logged = caplog.text + "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert leaks(logged, SECRET, secured.password, "S3cret%2Dpw") == []


COMMANDS = [
    ["verify", "{url}"],
    ["verify", "{url}", "--json"],
    ["reconcile", "{url}"],
    ["reconcile", "{url}", "--json"],
    ["report", "{url}"],
    ["report", "{url}", "--json"],
    ["export", "{url}", "--format", "csv"],
    ["export", "{url}", "--format", "html"],
    ["export", "{url}", "--format", "beancount", "--output", "{tmp}/out.beancount"],
    ["import", "{url}", "{tmp}/statement.csv", "--kind", "statement"],
    ["import", "{url}", "{tmp}/statement.csv", "--kind", "statement", "--json"],
]


def run_command(
    arguments: list[str], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> tuple[int, str]:
    """The exit status, and everything the command wrote to stdout, stderr and the log."""
    caplog.clear()
    with pytest.raises(SystemExit) as done:
        main(arguments)
    output = capsys.readouterr()
    return int(done.value.code or 0), output.out + output.err + caplog.text


def test_commands_never_show_the_password(
    secured: Secured, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """verify, reconcile, report, export and import, with and without --json, never print a password."""
    listen(caplog)
    (tmp_path / "statement.csv").write_text("date,amount,reference\n2020-04-01,1.00,X\n", encoding="utf-8")
    good = secured.url(secured.password)
    logged = False
    for command in COMMANDS:
        for why, url in {**bad_urls(secured), "good": good}.items():
            arguments = [part.format(url=url, tmp=tmp_path) for part in command]
            status, output = run_command(arguments, capsys, caplog)
            shown = f"{' '.join(command)} with {why}: exit {status}\n{output}"
            assert status in ((0, 1) if why == "good" else (2,)), shown
            assert leaks(output, SECRET, "S3cret%2Dpw", secured.password) == [], shown
            logged = logged or "sqlalchemy" in output
    assert logged, "SQLAlchemy logged nothing: the capture is not listening"


def test_the_installed_command_never_shows_the_password(secured: Secured) -> None:
    """The real `aidledger` process, with logging at DEBUG to stderr, prints no password on failure or success."""
    driver = (
        "import logging; logging.basicConfig(level=logging.DEBUG); "
        "logging.getLogger('sqlalchemy').setLevel(logging.DEBUG); from aidledger.cli import main; main()"
    )
    for url, status in ((secured.url(SECRET), 2), (secured.url(secured.password), 0)):
        done = subprocess.run(
            [sys.executable, "-c", driver, "verify", url, "--json"], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == status, done.stderr
        assert leaks(done.stdout + done.stderr, SECRET, secured.password) == []
        assert "DEBUG:sqlalchemy" in done.stderr  # the logging was on
