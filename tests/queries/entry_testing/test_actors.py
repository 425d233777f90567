"""Rare actors and off-hours entries, on both backends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pendulum
import pytest

from aidledger import InvalidArgument, TimeBasis, unusual_actors
from tests.queries.entry_testing.journal import ALMATY, START, Book


def seqs(found: Any) -> list[int]:
    return [item.entry.seq for item in found]


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
