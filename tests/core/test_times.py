"""Time at the edges: aware datetimes in, UTC microseconds in storage, pendulum back out in the entry's zone."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from aidledger import InvalidArgument, InvalidTime
from aidledger.core.times import from_micros, time_zone, to_micros, zone_name


class TestTimes:
    def test_micros_round_trip_in_any_zone(self) -> None:
        """Aware times become exact UTC microseconds and come back in their own zone."""
        from hypothesis import given
        from hypothesis import strategies as st

        from aidledger.core.times import from_micros, to_micros, zone_name

        @given(
            st.datetimes(
                min_value=dt.datetime(1900, 1, 1),
                max_value=dt.datetime(2200, 1, 1),
                timezones=st.sampled_from(
                    [
                        dt.UTC,
                        dt.timezone(dt.timedelta(hours=5, minutes=45)),
                        dt.timezone(dt.timedelta(hours=-3)),
                    ]
                ),
            )
        )
        def check(when: dt.datetime) -> None:
            micros = to_micros(when)
            assert micros == round((when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) / dt.timedelta(microseconds=1))
            back = from_micros(micros, zone_name(when))
            assert back == when
            assert back.utcoffset() == when.utcoffset()

        check()


class TestEdges:
    def test_the_epoch_is_zero_whatever_the_zone(self) -> None:
        """One instant is one number of microseconds, in whichever zone it was written."""
        assert to_micros(dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) == 0
        assert to_micros(pendulum.datetime(1970, 1, 1, 6, tz="Asia/Almaty")) == 0  # UTC+6 then
        assert to_micros(dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)) == -1

    @pytest.mark.parametrize("when", [dt.datetime(2020, 4, 1, 9), dt.date(2020, 4, 1), "2020-04-01", 1585702800])
    def test_naive_times_and_non_times_are_refused_by_name(self, when: object) -> None:
        """A naive datetime, a date, text or a number is an InvalidTime that names what was expected."""
        with pytest.raises(InvalidTime, match="effective_at"):
            to_micros(when, "effective_at")

    def test_a_named_zone_keeps_its_name_and_an_offset_becomes_text(self) -> None:
        """IANA zones are stored by name; a bare offset as ``+HH:MM``, which reads back as the same offset."""
        assert zone_name(pendulum.datetime(2020, 4, 1, tz="Asia/Almaty")) == "Asia/Almaty"
        fixed = dt.datetime(2020, 4, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30)))
        assert zone_name(fixed) == "-03:30"
        assert from_micros(to_micros(fixed), "-03:30").utcoffset() == dt.timedelta(hours=-3, minutes=-30)

    @pytest.mark.parametrize("name", ["Mars/Olympus", "", 5, None])
    def test_an_unknown_time_zone_is_refused(self, name: object) -> None:
        """time_zone accepts a zone name or offset, and refuses anything else with InvalidArgument."""
        with pytest.raises(InvalidArgument):
            time_zone(name)

    def test_a_known_time_zone_is_pendulums(self) -> None:
        """A name and an offset both give a zone pendulum uses."""
        assert time_zone("Asia/Almaty").name == "Asia/Almaty"
        assert time_zone("+05:45").offset == 5 * 3600 + 45 * 60
