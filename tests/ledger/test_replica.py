"""Auditors on a streaming hot standby: the same figures and bytes as the primary at the same digest.

PostgreSQL only: a primary of its own and a standby made with ``pg_basebackup -R``,
both started and removed by ``aidledger.testing.PostgresServer``.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import NoReturn

import attrs
import pendulum
import pytest

from aidledger import (
    Aid,
    Ledger,
    ReportingOrg,
    StorageError,
    Window,
    audit_report,
    export_beancount,
    export_csv,
    export_hledger,
    export_iati,
    reconcile,
    verify,
)
from aidledger.testing import PostgresServer, PostgresUnavailable, find_bindir
from tests.books import build_books
from tests.operations.conftest import APRIL, kzt

ORG = ReportingOrg("KZ-BIN-123456789012", "Kazakhstan Fund", "60")
GENERATED = pendulum.datetime(2021, 1, 1, tz="UTC")


@attrs.frozen
class Replication:
    primary: PostgresServer
    standby: PostgresServer
    url: str  # the ledger on the primary
    replica_url: str  # the same ledger on the standby


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def replication() -> Iterator[Replication]:
    """A primary holding the small books of tests/books.py, and a hot standby of it; both removed at the end."""
    if find_bindir() is None:
        _unavailable("PostgreSQL is not available on this machine")
    try:
        primary = PostgresServer.start()
    except PostgresUnavailable as error:
        _unavailable(str(error))
    try:
        url = primary.create_database("ledger")
        with Ledger.open(url) as ledger:
            aid = Aid(ledger)
            for code, purpose in (
                ("GENERAL", None),
                ("CASH-AID", "cash-aid"),
                ("FOOD", "food"),
                ("HOUSING", "housing"),
            ):
                aid.create_fund(code, name=code.title(), purpose=purpose)
            build_books(aid)
        standby = primary.start_standby()
        try:
            standby.catch_up(primary)
            yield Replication(primary, standby, url, standby.url("ledger"))
        finally:
            standby.stop()
    finally:
        primary.stop()


def exports(ledger: Ledger, window: Window) -> dict[str, bytes]:
    """Every export of the ledger over ``window``, as bytes."""
    files: dict[str, bytes] = {}
    for exporter in (export_beancount, export_hledger, export_csv):
        out = io.StringIO(newline="")
        exporter(ledger, out, window=window)
        files[exporter.__name__] = out.getvalue().encode()
    binary = io.BytesIO()
    export_iati(ledger, binary, reporting_org=ORG, window=window, generated_at=GENERATED)
    files["export_iati"] = binary.getvalue()
    return files


@contextlib.contextmanager
def writing(url: str) -> Iterator[list[int]]:
    """Donations and payment lists posted on the primary, one after another, until the block ends."""
    stop, posted, failures = threading.Event(), [0], []

    def work() -> None:
        try:
            with Ledger.open(url) as ledger:
                aid = Aid(ledger)
                on = APRIL.add(months=2)
                while not stop.is_set():
                    n = posted[0]
                    aid.donate("CASH-AID", kzt("1000"), donor=f"D-{n}", on=on, actor="cashier", key=f"late-{n}")
                    posted[0] += 1
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        yield posted
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not failures, failures


def test_the_standby_gives_the_primarys_figures_and_bytes_at_a_digest(replication: Replication) -> None:
    """Report and exports on the standby, while the primary keeps writing, equal the primary's at one digest."""
    with Ledger.open(replication.url) as primary, Ledger.open(replication.replica_url, read_only=True) as replica:
        head = primary.head()
        digest = Window(through=f"{head.seq}:{head.hash}")
        with writing(replication.url) as posted:
            replication.standby.catch_up(replication.primary)
            on_replica = (audit_report(replica, window=digest, fund="CASH-AID"), exports(replica, digest))
            on_primary = (audit_report(primary, window=digest, fund="CASH-AID"), exports(primary, digest))
        assert posted[0] > 0
        assert on_replica == on_primary
        assert b"D-0" not in on_replica[1]["export_csv"]  # nothing the primary wrote after the digest
        replication.standby.catch_up(replication.primary)
        checked = verify(replica)
        assert checked.ok and checked == verify(primary)
        assert replica.head() == primary.head() != head
        assert reconcile(replica) == reconcile(primary)
        assert reconcile(replica).ok
        later = Window(through=checked.digest)
        assert exports(replica, later) == exports(primary, later)


def test_a_write_on_the_standby_is_refused_with_a_typed_error(replication: Replication) -> None:
    """A Ledger opened for writing on the standby reads, and refuses to write, naming the read-only database."""
    with Ledger.open(replication.replica_url) as ledger:
        before = ledger.head()
        assert ledger.funds() and verify(ledger).ok
        with pytest.raises(StorageError, match=r"is read-only .*hot standby.*write through the primary"):
            Aid(ledger).donate("CASH-AID", kzt("5"), donor="D-X", on=APRIL, actor="cashier")
        assert ledger.head() == before
    with Ledger.open(replication.replica_url, read_only=True) as ledger:
        assert ledger.read_only
        with ledger.engine.connect() as connection:  # after the snapshots: a plain BEGIN the standby accepts
            ledger.head()
            assert connection.exec_driver_sql("SELECT count(*) FROM entries").scalar() == before.seq


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aidledger", *args], capture_output=True, text=True, check=False, timeout=120
    )


def test_the_read_only_commands_run_on_the_standby(replication: Replication) -> None:
    """verify, reconcile, report and export take the standby's URL and print what the primary's gives."""
    replication.standby.catch_up(replication.primary)
    for command in (["verify"], ["reconcile"], ["report", "--json"], ["export", "-f", "beancount"]):
        on_replica = cli(command[0], replication.replica_url, *command[1:])
        on_primary = cli(command[0], replication.url, *command[1:])
        assert on_replica.returncode == 0, on_replica.stderr
        assert on_replica.stdout.replace(replication.replica_url, replication.url) == on_primary.stdout
