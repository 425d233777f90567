"""Journal-entry tests for auditors, on both backends: each test flags what it should and nothing else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pendulum
import pytest

from aidledger import (
    Account,
    AccountType,
    Aid,
    Fund,
    InvalidAmount,
    InvalidArgument,
    InvalidTime,
    Ledger,
    Money,
    PaymentLine,
    PaymentStatus,
    PeriodClosed,
    ProviderLine,
    Pseudonymizer,
    commodity,
    double_payments,
)
from aidledger.queries.journal_tests import (
    AfterCloseReason,
    SampleMethod,
    SplitReason,
    TimeBasis,
    entries_after_close,
    entries_without_description,
    journal_tests,
    round_amounts,
    same_beneficiary_several_programmes,
    sample_entries,
    split_under_threshold,
    unusual_actors,
)
from tests.conftest import KZT, USD, Chart, new_url
from tests.helpers import transfer

ALMATY = "Asia/Almaty"
START = pendulum.datetime(2020, 4, 1, 10, tz=ALMATY)  # a Wednesday, in working hours
FUNDED_ON = START.subtract(days=30)
KEYS = Pseudonymizer({1: bytes(range(32))})
MEMO = Account("Memo:Commitments:KZT", AccountType.MEMO, KZT)
MEMO_CONTRA = Account("Memo:CommitmentsContra:KZT", AccountType.MEMO, KZT, allow_negative=True)


class Clock:
    """A clock the test sets: the ledger records entries at its time."""

    def __init__(self, start: pendulum.DateTime) -> None:
        self.now = start

    def __call__(self) -> pendulum.DateTime:
        return self.now

    def set(self, when: pendulum.DateTime) -> None:
        self.now = when


class Book:
    """A ledger on one backend, its clock, and short ways to post to it."""

    def __init__(self, ledger: Ledger, clock: Clock) -> None:
        self.ledger = ledger
        self.clock = clock

    def post(
        self,
        amount: str = "100",
        *,
        on: dt.datetime = START,
        at: pendulum.DateTime | None = None,
        actor: str = "clerk",
        memo: str = "paid from the bank",
        kind: str = "general",
        debit: Account = Chart.cash_aid,
        credit: Account = Chart.bank,
        **extra: Any,
    ) -> Any:
        if at is not None:
            self.clock.set(at)
        return self.ledger.post(
            transfer(debit, credit, Chart.general, amount, on, kind=kind, actor=actor, memo=memo, **extra)
        )

    def fund(
        self,
        amount: str = "100000000",
        *,
        on: dt.datetime = FUNDED_ON,
        at: pendulum.DateTime | None = None,
    ) -> Any:
        return self.post(
            amount,
            on=on,
            at=at,
            kind="donation",
            debit=Chart.bank,
            credit=Chart.donations,
            tags={"donor": "D-0"},
            memo="gift",
        )


def open_book(url: str) -> Book:
    clock = Clock(START)
    ledger = Ledger.open(url, clock=clock)
    for value in (*vars(Chart).values(), MEMO, MEMO_CONTRA):
        if isinstance(value, Account):
            ledger.add_account(value)
        elif isinstance(value, Fund):
            ledger.add_fund(value)
    return Book(ledger, clock)


@pytest.fixture
def book(url: str) -> Iterator[Book]:
    opened = open_book(url)
    try:
        yield opened
    finally:
        opened.ledger.close()


def seqs(found: Any) -> list[int]:
    return [item.entry.seq for item in found]


# -- 1. entries after a close ---------------------------------------------------------------------


def test_a_period_runs_from_start_to_just_before_end(book: Book) -> None:
    """start is inclusive and end exclusive, as in audit_totals: back-to-back periods share no entry."""
    book.fund()
    first = book.post(on=START, memo="")
    second = book.post(on=START.add(days=1), memo="")
    day_one = entries_without_description(book.ledger, start=START, end=START.add(days=1))
    day_two = entries_without_description(book.ledger, start=START.add(days=1), end=START.add(days=2))
    assert [x.id for x in day_one.entries] == [first.id]
    assert [x.id for x in day_two.entries] == [second.id]


class TestEntriesAfterClose:
    def test_ledger_refuses_back_dating_into_a_closed_period(self, book: Book) -> None:
        """The ledger itself refuses an entry into a closed period, so that can only come from outside it."""
        book.fund()
        book.clock.set(START.add(days=40))
        book.ledger.close_period(START.end_of("month"), actor="accountant")
        with pytest.raises(PeriodClosed):
            book.post(on=START.add(days=5))
        assert entries_after_close(book.ledger) == ()

    def test_flags_entries_back_dated_across_a_close_and_clock_skew(self, book: Book) -> None:
        """Just after the close and back-dated across it: flagged; corrections and later entries: not."""
        book.fund()
        april = book.post(on=START, at=START)
        book.post(on=START.add(days=20), at=START.add(days=20))  # recorded before the close: fine
        book.clock.set(pendulum.datetime(2020, 5, 2, 10, tz=ALMATY))
        book.ledger.close_period(pendulum.datetime(2020, 4, 30, 23, 59, 59, tz=ALMATY), actor="accountant")
        may_3 = pendulum.datetime(2020, 5, 3, 10, tz=ALMATY)
        late = book.post(on=pendulum.datetime(2020, 5, 1, 12, tz=ALMATY), at=may_3)  # back-dated across the close
        book.post(on=pendulum.datetime(2020, 5, 20, tz=ALMATY), at=may_3)  # beyond the window
        reversal = book.ledger.reverse(april.id, actor="checker", effective_at=pendulum.datetime(2020, 5, 1, tz=ALMATY))
        book.post(on=pendulum.datetime(2020, 5, 4, tz=ALMATY), at=pendulum.datetime(2020, 5, 5, tz=ALMATY))
        # A close made by a writer whose clock is behind is recorded no earlier than the newest entry,
        # so it cannot claim to predate an entry it covers.
        skewed = book.post(on=pendulum.datetime(2020, 5, 10, tz=ALMATY), at=pendulum.datetime(2020, 5, 12, tz=ALMATY))
        book.clock.set(pendulum.datetime(2020, 5, 11, tz=ALMATY))
        book.ledger.close_period(pendulum.datetime(2020, 5, 10, 23, tz=ALMATY), actor="accountant")

        found = entries_after_close(book.ledger)
        assert [(f.entry.id, f.reason, f.close_seq) for f in found] == [
            (late.id, AfterCloseReason.JUST_AFTER_CLOSE, 1),
        ]
        assert skewed.id not in {f.entry.id for f in found}
        assert reversal.id not in {f.entry.id for f in found}
        assert found[0].closed_through == pendulum.datetime(2020, 4, 30, 23, 59, 59, tz=ALMATY)
        assert found[0].close_recorded_at == pendulum.datetime(2020, 5, 2, 10, tz=ALMATY)

        # Re-run as known on May 4: neither the skewed entry nor the second close existed.
        assert [
            f.entry.id for f in entries_after_close(book.ledger, known_at=pendulum.datetime(2020, 5, 4, tz="UTC"))
        ] == [late.id]
        # A zero window keeps only entries inside closed periods (none here); filters narrow the entries.
        assert entries_after_close(book.ledger, window=dt.timedelta(0)) == ()
        assert entries_after_close(book.ledger, start=pendulum.datetime(2020, 5, 2, tz=ALMATY)) == ()
        assert entries_after_close(book.ledger, start=pendulum.datetime(2020, 5, 1, tz=ALMATY)) == found
        assert entries_after_close(book.ledger, exclude_kinds=["general"]) == ()

    def test_arguments(self, book: Book) -> None:
        with pytest.raises(InvalidArgument, match="window"):
            entries_after_close(book.ledger, window=dt.timedelta(days=-1))
        with pytest.raises(InvalidTime):
            entries_after_close(book.ledger, known_at=dt.datetime(2020, 5, 1))
        with pytest.raises(InvalidArgument, match="is not after start"):
            entries_after_close(book.ledger, start=START, end=START.subtract(days=1))
        with pytest.raises(InvalidArgument, match="is not after start"):
            entries_after_close(book.ledger, start=START, end=START)  # end is exclusive: an empty period
        with pytest.raises(InvalidArgument, match="Ledger"):
            entries_after_close("sqlite://")  # type: ignore[arg-type]


# -- 2. unusual actors and off-hours entries ------------------------------------------------------


class TestUnusualActors:
    def test_rare_actors_by_count_and_by_share(self, book: Book) -> None:
        """Actors with few entries are listed fewest first, with their entries; shares are compared exactly."""
        book.fund()  # by clerk
        for _ in range(6):
            book.post(actor="clerk")
        intern = book.post(actor="intern")
        chief = [book.post(actor="chief"), book.post(actor="chief")]
        found = unusual_actors(book.ledger, max_entries=2)
        assert found.population == 10 and found.actors == 3
        assert [(r.actor, r.count) for r in found.rare] == [("intern", 1), ("chief", 2)]
        assert [e.id for e in found.rare[1].entries] == [c.id for c in chief]
        # 1 of 10 entries is exactly a share of 0.1: included; 2 of 10 is not.
        by_share = unusual_actors(book.ledger, max_entries=None, max_share=Decimal("0.1"))
        assert [(r.actor, [e.id for e in r.entries]) for r in by_share.rare] == [("intern", [intern.id])]
        assert unusual_actors(book.ledger, max_entries=None, max_share=Decimal("0.09")).rare == ()

    def test_off_hours_in_a_time_zone(self, book: Book) -> None:
        """Entries recorded at night, early, at 19:00 or on a weekend are off hours; 08:00 to 18:59 on weekdays is not."""
        day = pendulum.datetime(2020, 4, 1, tz=ALMATY)  # Wednesday
        gift = book.fund(at=day.subtract(days=1).add(hours=10))  # Tuesday 10:00 here, 04:00 in UTC
        times = {
            "morning": day.add(hours=8),
            "evening": day.add(hours=18, minutes=59, seconds=59),
            "late": day.add(hours=19),
            "early": day.add(days=1, hours=7, minutes=59),
            "night": day.add(days=1, hours=23),
            "saturday": day.add(days=3, hours=11),
            "monday": day.add(days=5, hours=11),
        }
        posted = {name: book.post(at=when, on=START, memo=name) for name, when in times.items()}
        found = unusual_actors(book.ledger, tz=ALMATY)
        off = ["late", "early", "night", "saturday"]
        assert found.off_hours_count == 4
        assert [o.entry.id for o in found.off_hours] == [posted[name].id for name in off]
        assert [o.weekend for o in found.off_hours] == [False, False, False, True]
        assert found.off_hours[0].local_time.hour == 19
        assert found.off_hours[0].local_time.utcoffset() == dt.timedelta(hours=6)
        assert (found.tz, found.hours, found.basis) == (ALMATY, (8, 19), TimeBasis.RECORDED)
        # The same instants in UTC are six hours earlier: another set is off hours.
        in_utc = unusual_actors(book.ledger, tz="UTC")
        in_utc_off = ("morning", "early", "saturday", "monday")
        assert {o.entry.id for o in in_utc.off_hours} == {gift.id} | {posted[n].id for n in in_utc_off}
        # A limit shortens the list, never the count; the effective time is all working time here.
        limited = unusual_actors(book.ledger, tz=ALMATY, limit=1)
        assert (limited.off_hours_count, len(limited.off_hours)) == (4, 1)
        assert unusual_actors(book.ledger, tz=ALMATY, basis=TimeBasis.EFFECTIVE).off_hours_count == 0
        assert unusual_actors(book.ledger, tz=ALMATY, hours=(0, 24), weekend=()).off_hours_count == 0

    @pytest.mark.parametrize(
        "zone",
        ["Asia/Almaty", "Asia/Kathmandu", "America/St_Johns", dt.timezone(dt.timedelta(hours=5, minutes=7, seconds=3))],
    )
    def test_off_hours_match_entry_by_entry(self, book: Book, zone: str | dt.tzinfo) -> None:
        """The per-quarter-hour count equals classifying every entry, odd offsets and DST changes included."""
        moment = pendulum.datetime(2020, 3, 6, tz="UTC")  # across the 2020-03-08 DST change in St John's
        book.fund(at=moment.subtract(hours=1))
        for step in range(40):
            book.post(at=moment.add(minutes=97 * step + step % 7), on=START)
        found = unusual_actors(book.ledger, tz=zone)
        expected = []
        for entry in book.ledger.entries():
            local = entry.recorded_at.astimezone(pendulum.timezone(zone) if isinstance(zone, str) else zone)
            if local.weekday() >= 5 or not 8 <= local.hour < 19:
                expected.append(entry.seq)
        assert found.off_hours_count == len(expected)
        assert seqs(found.off_hours) == expected

    def test_arguments(self, book: Book) -> None:
        for wrong in (
            {"max_entries": None, "max_share": None},
            {"max_share": 0.1},
            {"max_share": Decimal("1.5")},
            {"max_entries": -1},
            {"tz": "Mars/Olympus"},
            {"tz": 6},
            {"hours": (19, 8)},
            {"hours": (8, 25)},
            {"weekend": (7,)},
            {"basis": "recorded"},
            {"limit": -1},
            {"kinds": "general"},
        ):
            with pytest.raises(InvalidArgument):
                unusual_actors(book.ledger, **wrong)


# -- 3. entries without a description -------------------------------------------------------------


def test_entries_without_description(book: Book) -> None:
    """Empty and white-space memos (any Unicode white space) are found; text, even padded, is not."""
    book.fund()
    empty = book.post(memo="")
    spaces = book.post(memo="   ")
    unicode_blank = book.post(memo="\u3000\t\n\u00a0")
    book.post(memo="  padded but real ")
    book.post(memo="x")
    bulk = book.post(memo="", kind="payment")
    found = entries_without_description(book.ledger)
    assert (found.count, dict(found.by_kind)) == (4, {"general": 3, "payment": 1})
    assert [e.id for e in found.entries] == [empty.id, spaces.id, unicode_blank.id, bulk.id]
    hand_made = entries_without_description(book.ledger, exclude_kinds=["payment"])
    assert hand_made.count == 3
    assert entries_without_description(book.ledger, kinds=["payment"]).entries[0].id == bulk.id
    limited = entries_without_description(book.ledger, limit=2)
    assert (limited.count, [e.id for e in limited.entries]) == (4, [empty.id, spaces.id])
    with pytest.raises(InvalidArgument):
        entries_without_description(book.ledger, limit="2")  # type: ignore[arg-type]


# -- 4. round amounts -----------------------------------------------------------------------------------


def test_round_amounts(book: Book) -> None:
    """Exact multiples of the round figure in each currency, by integer minor units; memo accounts left out."""
    book.fund("100000000")  # 100 million: a round figure too
    one = book.post("1000000")
    two = book.post("2000000.00")
    book.post("1000000.01")
    half = book.post("500000")
    usd = book.ledger.post(
        transfer(Chart.bank_usd, Chart.donations_usd, Chart.general, "3000000", START, actor="clerk", kind="donation")
    )
    book.post("5000000", debit=MEMO, credit=MEMO_CONTRA, kind="commitment")  # no money moves
    found = round_amounts(book.ledger)
    assert [(r.entry.seq, str(r.amount)) for r in found] == [
        (1, "100000000.00 KZT"),
        (one.seq, "1000000.00 KZT"),
        (two.seq, "2000000.00 KZT"),
        (usd.seq, "3000000.00 USD"),
    ]
    assert found[0].multiple == Money("1000000", KZT)
    by_kzt = round_amounts(book.ledger, multiple=Money("500000", KZT), min_amount=Money("600000", KZT))
    assert [r.entry.seq for r in by_kzt] == [1, one.seq, two.seq]
    assert half.seq in {r.entry.seq for r in round_amounts(book.ledger, multiple=Decimal("500000"))}
    assert [r.entry.seq for r in round_amounts(book.ledger, min_amount=Decimal("3000000"))] == [1, usd.seq]
    assert round_amounts(book.ledger, multiple=Money("1", "EUR")) == ()
    with pytest.raises(InvalidAmount, match="more decimals"):
        round_amounts(book.ledger, multiple=Decimal("0.001"))
    for wrong in ({"multiple": Decimal("0")}, {"multiple": 1000.0}, {"min_amount": Decimal("-1")}):
        with pytest.raises(InvalidAmount):
            round_amounts(book.ledger, **wrong)
    with pytest.raises(InvalidArgument, match="different currencies"):
        round_amounts(book.ledger, multiple=Money("1", KZT), min_amount=Money("1", USD))


# -- 5. splits under an approval threshold -------------------------------------------------------------


THRESHOLD = Money("10000000", KZT)


def tranche(book: Book, amount: str, grantee: str, day: int, *, actor: str = "maker", **extra: Any) -> Any:
    return book.post(
        amount, on=START.add(days=day), actor=actor, kind="grant-tranche", tags={"grantee": grantee}, **extra
    )


def test_split_under_threshold(book: Book) -> None:
    """Parts under the threshold that add up above it within the window, or keep coming just under it, are flagged."""
    book.fund("200000000")
    split = [tranche(book, "6000000", "G1", 0), tranche(book, "4000001", "G1", 3)]
    tranche(book, "6000000", "G2", 0)  # same grantee, weeks apart: not a split
    tranche(book, "6000000", "G2", 30)
    near = [tranche(book, "9500000", "G3", 0), tranche(book, "10000000", "G3", 40)]
    tranche(book, "6000000", "G4", 0, approved_by="checker")  # approved: nothing avoided
    tranche(book, "6000000", "G4", 1, approved_by="checker")
    tranche(book, "12000000", "G5", 0)  # above the threshold: needed approval, not a part
    tranche(book, "1000000", "G5", 1)
    tranche(book, "6000000", "G6", 0, actor="one")  # two makers
    tranche(book, "6000000", "G6", 1, actor="other")
    tranche(book, "5000000", "G7", 0)  # exactly the threshold within the window: not above it
    tranche(book, "5000000", "G7", 7)
    tranche(book, "5000000", "G8", 0)  # sums to the threshold only: not above it
    tranche(book, "5000000", "G8", 1)
    plain = [
        book.post("6000000", on=START.add(days=2), actor="m2"),
        book.post("6000000", on=START.add(days=2), actor="m2"),
    ]

    found = split_under_threshold(book.ledger, THRESHOLD)
    assert [(g.counterparty, g.reason) for g in found] == [
        ("accounts=Expenses:CashAid -> Assets:Bank:KZT", SplitReason.SUM_ABOVE),
        ("grantee=G1", SplitReason.SUM_ABOVE),
        ("grantee=G3", SplitReason.NEAR_THRESHOLD),
    ]
    assert [[i.entry.id for i in g.items] for g in found] == [
        [p.id for p in plain],
        [s.id for s in split],
        [n.id for n in near],
    ]
    assert [str(g.total) for g in found] == ["12000000.00 KZT", "10000001.00 KZT", "19500000.00 KZT"]
    assert [i.near_threshold for i in found[2].items] == [True, True]
    assert (found[1].kind, found[1].actor, found[1].threshold) == ("grant-tranche", "maker", THRESHOLD)
    # A wider window joins G2's parts (G7's only reach the threshold); a wider margin makes G1's first part near.
    wide = split_under_threshold(book.ledger, THRESHOLD, window=dt.timedelta(days=30))
    assert {g.counterparty for g in wide if g.reason is SplitReason.SUM_ABOVE} >= {"grantee=G2", "grantee=G1"}
    assert "grantee=G7" not in {g.counterparty for g in wide}  # 10,000,000 is not above 10,000,000
    assert split_under_threshold(book.ledger, THRESHOLD, margin=Decimal("0.5"))[1].items[0].near_threshold
    # Filters: only entries of some kinds, or effective in a period.
    assert split_under_threshold(book.ledger, THRESHOLD, kinds=["donation"]) == ()
    assert [g.counterparty for g in split_under_threshold(book.ledger, THRESHOLD, end=START.add(days=1))] == []


def test_split_payment_lists(url: str) -> None:
    """A payment list is one item: two small lists of one maker and programme within days add up above the threshold."""
    with Ledger.open(url) as ledger:
        aid = Aid(ledger, approval_threshold=Money("100000", KZT))
        aid.create_fund("CASH-AID", name="Cash aid", purpose="cash-aid")
        aid.donate("CASH-AID", Money("9000000", KZT), donor="D-1", on=START, actor="cashier")
        aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=Money("50000", KZT), actor="admin")
        lines = [PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"L-{n}") for n in range(6)]
        aid.pay("ONE-OFF", lines[:2], actor="maker", on=START.add(days=1), list_code="A")
        aid.pay("ONE-OFF", lines[2:4], actor="maker", on=START.add(days=2), list_code="B")
        aid.pay("ONE-OFF", lines[4:5], actor="maker", on=START.add(days=30), list_code="C")
        found = split_under_threshold(ledger, Money("100000", KZT))
        assert [
            (g.kind, g.counterparty, [(i.list_code, i.entries, str(i.amount)) for i in g.items]) for g in found
        ] == [("payment", "programme=ONE-OFF", [("A", 2, "100000.00 KZT"), ("B", 2, "100000.00 KZT")])]


def test_split_arguments(book: Book) -> None:
    with pytest.raises(InvalidAmount):
        split_under_threshold(book.ledger, Money("0", KZT))
    with pytest.raises(InvalidAmount):
        split_under_threshold(book.ledger, Decimal("10"))  # type: ignore[arg-type]
    for wrong in ({"window": dt.timedelta(0)}, {"margin": Decimal("1")}, {"margin": 0.1}, {"window": 7}):
        with pytest.raises(InvalidArgument):
            split_under_threshold(book.ledger, THRESHOLD, **wrong)


# -- 6. one beneficiary, several programmes -----------------------------------------------------------


def test_same_beneficiary_several_programmes(url: str) -> None:
    """Live payments in two programmes of one purpose are flagged; a failed one no longer counts, unless known before."""
    clock = Clock(START)
    with Ledger.open(url, clock=clock) as ledger:
        aid = Aid(ledger)
        aid.create_fund("CASH-AID", name="Cash aid", purpose="cash-aid")
        aid.create_fund("FOOD", name="Food", purpose="food")
        aid.donate("CASH-AID", Money("9000000", KZT), donor="D-1", on=START, actor="cashier")
        aid.donate("FOOD", Money("9000000", KZT), donor="D-1", on=START, actor="cashier")
        kzt = Money("50000", KZT)
        aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt, actor="admin")
        aid.create_programme("TOP-UP", fund="CASH-AID", purpose="cash-aid", amount=kzt, actor="admin")
        aid.create_programme("FOOD-CASH", fund="FOOD", purpose="food", amount=kzt, actor="admin")

        def line(n: int, prefix: str) -> PaymentLine:
            return PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"{prefix}-{n}")

        aid.pay("ONE-OFF", [line(1, "O"), line(2, "O"), line(3, "O")], actor="m", on=START, list_code="O1")
        aid.pay("TOP-UP", [line(2, "T"), line(3, "T")], actor="m", on=START, list_code="T1")
        aid.pay("FOOD-CASH", [line(1, "F")], actor="m", on=START, list_code="F1")  # another purpose
        before_failure = clock.now
        clock.set(START.add(days=2))
        aid.send("O1", provider="bank", actor="m", on=START.add(days=1))
        aid.settle("O1", [ProviderLine("O-3", PaymentStatus.FAILED, kzt)], actor="m", on=START.add(days=2))

        found = same_beneficiary_several_programmes(aid)
        hh2 = KEYS.pseudonym("hh-2").pseudonym
        assert [(f.beneficiary, f.purpose, f.programmes) for f in found] == [(hh2, "cash-aid", ("ONE-OFF", "TOP-UP"))]
        assert [e.kind for e in found[0].entries] == ["payment", "payment"]
        assert [(d.beneficiary, d.programmes) for d in double_payments(aid.ledger)] == [
            (f.beneficiary, f.programmes) for f in found
        ]
        assert same_beneficiary_several_programmes(ledger, "food") == ()
        earlier = same_beneficiary_several_programmes(ledger, "cash-aid", known_at=before_failure)
        assert [f.beneficiary for f in earlier] == sorted([hh2, KEYS.pseudonym("hh-3").pseudonym])
        assert same_beneficiary_several_programmes(ledger, start=START.add(days=1)) == ()
        with pytest.raises(InvalidArgument):
            same_beneficiary_several_programmes(ledger, purpose=5)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            same_beneficiary_several_programmes("ledger")  # type: ignore[arg-type]


# -- 7. samples ----------------------------------------------------------------------------------------------


def fill(book: Book, count: int = 60, huge: str | None = None) -> None:
    """The same journal on any backend: a donation, then ``count`` payments of growing amounts."""
    book.fund("900000000")
    for number in range(count):
        book.post(str(1000 * (number + 1)), on=START.add(hours=number), kind="payment" if number % 3 else "general")
    if huge is not None:
        book.post(huge, on=START.add(days=5), kind="payment")


class TestSamples:
    def test_random_sample_is_reproducible(self, book: Book) -> None:
        """The same seed gives the same sample; another seed another; a known_at re-run after new entries too."""
        fill(book)
        first = sample_entries(book.ledger, 10, seed=42)
        assert first == sample_entries(book.ledger, 10, seed=42)
        assert [e.seq for e in first.entries] != [e.seq for e in sample_entries(book.ledger, 10, seed=43).entries]
        assert (first.method, first.seed, first.requested, first.population, first.total) == (
            SampleMethod.RANDOM,
            42,
            10,
            61,
            None,
        )
        assert len(first.entries) == 10 and len({e.seq for e in first.entries}) == 10
        assert [e.seq for e in first.entries] == sorted(e.seq for e in first.entries)
        cut = book.clock.now
        book.clock.set(cut.add(days=1))
        book.post("5")
        later = sample_entries(book.ledger, 10, seed=42, known_at=cut)
        assert [e.id for e in later.entries] == [e.id for e in first.entries]
        whole = sample_entries(book.ledger, 500, seed=1, kinds=["general"])
        assert whole.population == len(whole.entries) == 21
        with_amounts = sample_entries(book.ledger, 5, seed=1, unit="KZT", kinds=["payment"])
        assert all(e.amount is not None and e.amount.unit == KZT for e in with_amounts.entries)
        assert with_amounts.total == Money(sum(1000 * (n + 1) for n in range(60) if n % 3), KZT)

    def test_monetary_unit_sample(self, book: Book) -> None:
        """Each entry is picked in proportion to its amount; one larger than the interval always is."""
        fill(book, huge="50000000")
        for seed in range(15):
            sample = sample_entries(
                book.ledger, 8, seed=seed, method=SampleMethod.MONETARY_UNIT, unit=KZT, exclude_kinds=["donation"]
            )
            assert sample.population == 61
            assert sample.total == Money(sum(1000 * (n + 1) for n in range(60)) + 50_000_000, KZT)
            assert sample.interval == Money(sample.total.value / 8, KZT)  # exact here
            assert sum(e.hits for e in sample.entries) == 8
            huge = [e for e in sample.entries if e.amount == Money("50000000", KZT)]
            assert len(huge) == 1 and huge[0].hits in (7, 8)  # 50,000,000 is 7.7 intervals of 6,478,750
        same = sample_entries(book.ledger, 8, seed=3, method=SampleMethod.MONETARY_UNIT, unit="KZT")
        assert same == sample_entries(book.ledger, 8, seed=3, method=SampleMethod.MONETARY_UNIT, unit="KZT")

    def test_arguments(self, book: Book) -> None:
        for n, options in (
            (0, {}),
            (True, {}),
            (3, {"seed": "1"}),
            (3, {"method": "random"}),
            (3, {"method": SampleMethod.MONETARY_UNIT}),
            (3, {"unit": commodity("FOOD-PACKAGE", "package")}),
            (3, {"unit": 5}),
            (3, {"kinds": ["payment", 3]}),
        ):
            with pytest.raises(InvalidArgument):
                sample_entries(book.ledger, n, **{"seed": 1, **options})  # type: ignore[arg-type]


def test_sample_is_the_same_on_sqlite_and_postgresql(tmp_path: Path, pg_database: str | None) -> None:
    """The same operations on both backends give the same sampled entries, random and monetary-unit."""
    results = []
    for backend in ("sqlite", "postgresql"):
        book = open_book(new_url(backend, tmp_path, pg_database))
        try:
            fill(book, huge="7000000")
            random_sample = sample_entries(book.ledger, 12, seed=2020)
            mus = sample_entries(book.ledger, 12, seed=2020, method=SampleMethod.MONETARY_UNIT, unit=KZT)
            results.append(
                (
                    [(e.seq, e.kind, e.amount) for e in random_sample.entries],
                    [(e.seq, e.amount, e.hits) for e in mus.entries],
                    mus.total,
                )
            )
        finally:
            book.ledger.close()
    assert results[0] == results[1]
    assert len(results[0][0]) == 12


# -- all of them ------------------------------------------------------------------------------------------


def test_journal_tests_report(book: Book) -> None:
    """One report with every test and a count of findings per test."""
    book.fund()
    book.post("6000000", tags={"grantee": "G"}, kind="grant-tranche")
    book.post("6000000", tags={"grantee": "G"}, kind="grant-tranche")
    book.post("1000000", memo="", actor="intern", at=START.add(hours=14))  # round, undescribed, rare, off hours
    report = journal_tests(book.ledger, tz=ALMATY, max_entries=1, seed=7, sample_size=2)
    assert dict(report.findings) == {
        "entries after close": 0,
        "rare actors": 1,
        "off-hours entries": 1,
        "entries without description": 1,
        "round amounts": 4,  # the gift, both tranches and the intern's million
        "one beneficiary, several programmes": 0,
        "sampled entries": 2,
    }
    assert report.through_seq == 4 and report.splits == ()
    assert report.sample == sample_entries(book.ledger, 2, seed=7)
    with_threshold = journal_tests(book.ledger, threshold=THRESHOLD, bulk_kinds=["general"], limit=0)
    assert with_threshold.findings["splits under threshold"] == 1
    assert with_threshold.findings["entries without description"] == 0
    assert with_threshold.without_description.entries == ()
    with pytest.raises(InvalidArgument):
        journal_tests(book.ledger, sample_method=SampleMethod.MONETARY_UNIT)
    with pytest.raises(InvalidAmount):
        journal_tests(book.ledger, threshold=Money("-1", KZT))


def test_empty_ledger(book: Book) -> None:
    """Every test runs on an empty journal and finds nothing."""
    report = journal_tests(book.ledger, threshold=THRESHOLD, sample_method=SampleMethod.MONETARY_UNIT, sample_unit=KZT)
    assert set(report.findings.values()) == {0}
    assert report.sample.total == Money("0", KZT) and report.sample.entries == ()
