"""The Window value: validated once, one rule for which entries a read sees."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidledger import InvalidArgument, InvalidTime
from aidledger.core.times import to_micros
from aidledger.core.window import Digest, Window

T0 = pendulum.datetime(2020, 4, 1, tz="Asia/Almaty")
HASH = "ab" * 32


class TestValidation:
    def test_open_window_sees_everything(self) -> None:
        """Window() has no bound and admits any item."""
        window = Window()
        assert window.is_open
        assert window.admits(effective_at=-(10**15), recorded_at=10**15, seq=10**9)

    @pytest.mark.parametrize("name", ["start", "end", "as_of", "known_at"])
    def test_naive_time_refused_with_its_name(self, name: str) -> None:
        """A naive datetime is refused as InvalidTime naming the bound."""
        with pytest.raises(InvalidTime, match=name):
            Window(**{name: dt.datetime(2020, 1, 1)})

    @pytest.mark.parametrize("value", ["2020-01-01", 1.5, 0])
    def test_not_a_time_refused(self, value: object) -> None:
        """Text and numbers are not times."""
        with pytest.raises(InvalidTime):
            Window(as_of=value)

    def test_end_must_follow_start(self) -> None:
        """An empty or backwards period is refused."""
        with pytest.raises(InvalidArgument, match="not after start"):
            Window(start=T0, end=T0)

    def test_times_become_pendulum(self) -> None:
        """A stdlib aware datetime is kept as the same instant, in pendulum."""
        window = Window(as_of=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        assert isinstance(window.as_of, pendulum.DateTime)
        assert window.as_of == pendulum.datetime(2020, 1, 1)

    def test_window_or_keywords_not_both(self) -> None:
        """Window.of takes a window or the separate keywords."""
        assert Window.of(None, as_of=T0) == Window(as_of=T0)
        assert Window.of(Window(known_at=T0)) == Window(known_at=T0)
        with pytest.raises(InvalidArgument, match="either window or as_of"):
            Window.of(Window(), as_of=T0)
        with pytest.raises(InvalidArgument, match="must be a Window"):
            Window.of("2020")


class TestDigest:
    def test_parse_and_print(self) -> None:
        """A digest reads '<seq>:<hash>' and prints the same text."""
        digest = Digest.parse(f" 12:{HASH} ")
        assert (digest.seq, digest.hash, str(digest)) == (12, HASH, f"12:{HASH}")
        assert Window(through=f"12:{HASH}").through == digest

    @pytest.mark.parametrize("text", ["", "12", f"x:{HASH}", f"12:{HASH[:-1]}", f"12:{HASH.upper()}", 12, None])
    def test_malformed_digest_refused(self, text: object) -> None:
        """Anything but '<seq>:<64 lower-case hex digits>' is InvalidArgument."""
        with pytest.raises(InvalidArgument, match="digest"):
            Digest.parse(text)


class TestBounds:
    def test_end_and_as_of_fold_into_one_exclusive_bound(self) -> None:
        """as_of is inclusive and end exclusive: the tighter one wins."""
        later = T0.add(days=1)
        assert Window(end=later, as_of=T0).bounds().effective_before == to_micros(T0) + 1
        assert Window(end=T0, as_of=later).bounds().effective_before == to_micros(T0)

    @given(
        effective=st.integers(-(10**12), 10**12),
        recorded=st.integers(-(10**12), 10**12),
        seq=st.integers(1, 1000),
        start=st.none() | st.integers(-(10**12), 10**12),
        as_of=st.none() | st.integers(-(10**12), 10**12),
        known=st.none() | st.integers(-(10**12), 10**12),
        through=st.none() | st.integers(1, 1000),
    )
    def test_admits_is_the_definition(
        self,
        effective: int,
        recorded: int,
        seq: int,
        start: int | None,
        as_of: int | None,
        known: int | None,
        through: int | None,
    ) -> None:
        """admits() is exactly: start <= effective <= as_of, recorded <= known_at, seq <= the digest's entries."""

        def time(micros: int | None) -> pendulum.DateTime | None:
            return None if micros is None else pendulum.from_timestamp(0).add(microseconds=micros)

        window = Window(
            start=time(start),
            as_of=time(as_of),
            known_at=time(known),
            through=None if through is None else Digest(seq=through + 5, hash=HASH, entries=through),
        )
        expected = (
            (start is None or effective >= start)
            and (as_of is None or effective <= as_of)
            and (known is None or recorded <= known)
            and (through is None or seq <= through)
        )
        assert window.admits(effective_at=effective, recorded_at=recorded, seq=seq) is expected
