"""Every export takes one Window, and the same window gives the same bytes whenever the export is made."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pendulum
import pytest

from aidledger import (
    AidLedgerError,
    Digest,
    InvalidArgument,
    JournalEntry,
    Ledger,
    Money,
    Posting,
    ReportingOrg,
    Window,
    export_beancount,
    export_csv,
    export_hledger,
    export_html,
    export_iati,
)
from tests.exports.conftest import almaty

JOURNALS = [export_beancount, export_hledger, export_csv]


def written(exporter: Callable[..., Any], ledger: Ledger, **options: Any) -> tuple[str, Any]:
    out = io.StringIO(newline="")
    summary = exporter(ledger, out, **options)
    return out.getvalue(), summary


def post_late(ledger: Ledger) -> None:
    """A back-dated donation into GENERAL, recorded after everything else."""
    bank, income = ledger.account("Assets:Bank:KZT"), ledger.account("Revenue:Donations:KZT")
    general, money = ledger.fund("GENERAL"), Money("7.00", "KZT")
    ledger.post(
        JournalEntry(
            kind="donation",
            effective_at=almaty(4, 1),
            postings=[Posting.debit(bank, general, money), Posting.credit(income, general, money)],
            actor="late",
        )
    )


@pytest.mark.parametrize("exporter", JOURNALS)
def test_the_summary_window_reproduces_the_export(aid_ledger: Ledger, exporter: Callable[..., Any]) -> None:
    """An export made now is made again, byte for byte, after a back-dated entry, with the window it reported."""
    first, summary = written(exporter, aid_ledger)
    post_late(aid_ledger)
    again, _ = written(exporter, aid_ledger, window=summary.window)
    assert again == first
    assert written(exporter, aid_ledger)[0] != first


@pytest.mark.parametrize("exporter", JOURNALS)
def test_a_digest_gives_the_bytes_of_its_known_at(aid_ledger: Ledger, exporter: Callable[..., Any]) -> None:
    """Window(through=digest) gives the same file as Window(known_at=that entry's recorded time)."""
    (newest,) = aid_ledger.entries(after_seq=aid_ledger.head().seq - 1, limit=1)
    post_late(aid_ledger)
    through, _ = written(exporter, aid_ledger, window=Window(through=f"{newest.seq}:{newest.hash}"))
    known, _ = written(exporter, aid_ledger, window=Window(known_at=newest.recorded_at))
    assert through == known
    assert str(newest.seq) in through


def test_the_header_names_the_window_not_the_head(aid_ledger: Ledger) -> None:
    """The Beancount header names the newest entry inside the window and its effective bounds."""
    (newest,) = aid_ledger.entries(after_seq=aid_ledger.head().seq - 1, limit=1)
    cut = almaty(4, 10)
    text, summary = written(export_beancount, aid_ledger, window=Window(as_of=cut))
    post_late(aid_ledger)
    header = text.splitlines()[1]
    assert header == (
        f"; The ledger's entries through {Digest(seq=newest.seq, hash=newest.hash)} "
        f"(recorded {newest.recorded_at.isoformat()}), effective by {cut.isoformat()}."
    )
    assert summary.window == Window(as_of=cut, known_at=newest.recorded_at)
    assert written(export_beancount, aid_ledger, window=summary.window)[0] == text


def test_only_the_units_the_window_uses_are_declared(aid_ledger: Ledger) -> None:
    """A window before any goods arrived declares no commodity for them."""
    text, summary = written(export_hledger, aid_ledger, window=Window(end=almaty(4, 2)))
    assert "commodity 1,000.00 KZT\n" in text and "FOOD-PACKAGE" not in text and summary.units == 1


@pytest.mark.parametrize("exporter", JOURNALS)
def test_a_digest_the_ledger_does_not_hold_is_refused(aid_ledger: Ledger, exporter: Callable[..., Any]) -> None:
    out = io.StringIO()
    with pytest.raises(AidLedgerError, match="does not describe this ledger"):
        exporter(aid_ledger, out, window=Window(through="1:" + "0" * 64))
    assert out.getvalue() == ""


def test_a_window_must_be_a_window(aid_ledger: Ledger) -> None:
    for exporter in JOURNALS:
        with pytest.raises(InvalidArgument, match="window must be a Window"):
            exporter(aid_ledger, io.StringIO(), window=almaty(4, 10))
    with pytest.raises(InvalidArgument, match="window must be a Window"):
        export_html(aid_ledger, io.StringIO(), window=almaty(4, 10))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="window must be a Window"):
        org = ReportingOrg("KZ-BIN-123456789012", "Fund", "60")
        export_iati(aid_ledger, io.BytesIO(), reporting_org=org, window=almaty(4, 10))  # type: ignore[arg-type]


def test_html_and_iati_report_their_window(aid_ledger: Ledger) -> None:
    """The HTML report covers the window it was given; IATI covers it through the ledger's head, reproducibly."""
    cut = Window(as_of=almaty(4, 10))
    assert export_html(aid_ledger, io.StringIO(), window=cut).window == cut
    head = aid_ledger.head()
    org = ReportingOrg("KZ-BIN-123456789012", "Fund", "60")
    generated = pendulum.datetime(2021, 1, 1, tz="UTC")
    first, again = io.BytesIO(), io.BytesIO()
    summary = export_iati(aid_ledger, first, reporting_org=org, window=cut, generated_at=generated)
    assert summary.window == Window(as_of=cut.as_of, through=Digest(seq=head.seq, hash=head.hash))
    post_late(aid_ledger)
    export_iati(aid_ledger, again, reporting_org=org, window=summary.window, generated_at=generated)
    assert first.getvalue() == again.getvalue()
