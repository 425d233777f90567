"""Tests of the personal-data registry, and fake people for them: every value distinctive, so a scan finds only leaks."""

from __future__ import annotations

from aidledger import Pseudonymizer

KEYS = Pseudonymizer({1: bytes(range(32))})
NEW_KEY = bytes(range(100, 132))
FIRST = ("Aigerim", "Nurlan", "Dana", "Yerlan", "Saule", "Айгерім", "Нұрлан", "Дана", "Ерлан", "Сәуле")
LAST = ("Bekova", "Seitkali", "Omarova", "Zhaksylykov", "Tulegenova", "Бекова", "Сейтқали", "Омарова")


def fake(n: int) -> dict[str, str]:
    """Fake personal data for person number ``n`` (no two people share a value)."""
    return {
        "name": f"{FIRST[n % len(FIRST)]} {LAST[n // len(FIRST) % len(LAST)]}-Qyzy{n}",
        "national_id": f"{850101 + n % 28:06d}{400000 + n:06d}",
        "phone": f"+7 (701) 555-{n:04d}",
        "address": f"{n + 1} Abylai Khan Avenue, flat {n % 90 + 1}",
    }


PEOPLE = {f"KZ-HH-{n:07d}": fake(n) for n in range(3)}
