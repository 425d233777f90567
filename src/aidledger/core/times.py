"""Time at the edges: aware datetimes in, UTC microseconds in storage, pendulum out."""

from __future__ import annotations

import datetime as dt
import functools

import pendulum

from aidledger.core.errors import InvalidArgument, InvalidTime

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SUBTRACT = dt.datetime.__sub__
MICROS_PER_DAY = 86_400_000_000


def to_micros(when: object, what: str = "time") -> int:
    """Microseconds since the Unix epoch (UTC) of an aware datetime; refuse naive ones."""
    if not isinstance(when, dt.datetime):
        raise InvalidTime(f"{what} must be a time-zone-aware datetime, got {when!r}", value=when)
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidTime(
            f"{what} {when.isoformat()} has no time zone; pass an aware datetime "
            f"such as pendulum.datetime(2020, 5, 1, tz='Asia/Almaty')",
            value=when,
        )
    # The built-in subtraction is exact and much faster than pendulum's override of it.
    delta = _SUBTRACT(when, _EPOCH)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def day_date(day: int) -> dt.date:
    """The UTC date of ``day``, a count of days since 1970-01-01 (``micros // MICROS_PER_DAY``)."""
    return _EPOCH.date() + dt.timedelta(days=day)


def zone_name(when: dt.datetime) -> str:
    """A name for the time zone of ``when`` that pendulum can read back."""
    tz = when.tzinfo
    name = getattr(tz, "key", None) or getattr(tz, "name", None)
    if isinstance(name, str) and name and not name.startswith(("+", "-")) and _is_zone(name):
        return name
    offset = when.utcoffset()
    if offset is None:
        raise InvalidTime(f"{when.isoformat()} has no time zone", value=when)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@functools.lru_cache(maxsize=1024)
def _is_zone(name: str) -> bool:
    try:
        pendulum.timezone(name)
    except Exception:  # noqa: BLE001 - any failure means: not a zone pendulum can read back
        return False
    return True


def from_micros(micros: int, zone: str = "UTC") -> pendulum.DateTime:
    """The pendulum time of ``micros`` since the epoch, shown in ``zone`` (a name or ``+HH:MM``)."""
    tz = _zone(zone)
    local = (_EPOCH + dt.timedelta(microseconds=micros)).astimezone(tz)
    return pendulum.DateTime(
        local.year,
        local.month,
        local.day,
        local.hour,
        local.minute,
        local.second,
        local.microsecond,
        tzinfo=tz,
        fold=local.fold,
    )


def time_zone(name: object) -> pendulum.Timezone | pendulum.FixedTimezone:
    """The time zone named ``name`` (an IANA name such as ``Asia/Almaty``, or ``+HH:MM``); InvalidArgument if none."""
    if not isinstance(name, str):
        raise InvalidArgument(f"a time zone is named by text, got {name!r}", value=name)
    try:
        return _zone(name)
    except Exception:  # noqa: BLE001 - pendulum raises several kinds for an unknown name
        raise InvalidArgument(f"unknown time zone {name!r}", value=name) from None


@functools.lru_cache(maxsize=256)
def _zone(zone: str) -> pendulum.Timezone | pendulum.FixedTimezone:
    if zone.startswith(("+", "-")):
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = zone[1:].split(":")
        return pendulum.FixedTimezone(sign * (int(hours) * 3600 + int(minutes) * 60))
    return pendulum.timezone(zone)


def now() -> pendulum.DateTime:
    """The current time in UTC."""
    return pendulum.now("UTC")
