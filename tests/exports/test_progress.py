"""Long exports report their progress, page by page, and the output does not depend on it."""

from __future__ import annotations

import io

import pytest

from aidledger import Ledger, export_beancount, export_csv, export_hledger
from aidledger.exports import _common


@pytest.mark.parametrize("exporter", [export_beancount, export_hledger, export_csv])
def test_progress_is_reported_per_page(aid_ledger: Ledger, monkeypatch: pytest.MonkeyPatch, exporter: object) -> None:
    monkeypatch.setattr(_common, "_PAGE", 5)
    calls: list[tuple[str, int, int]] = []
    quiet, reported = io.StringIO(), io.StringIO()
    summary = exporter(aid_ledger, quiet)  # type: ignore[operator]
    exporter(aid_ledger, reported, window=summary.window, progress=lambda *call: calls.append(call))  # type: ignore[operator]
    assert quiet.getvalue() == reported.getvalue()
    head = aid_ledger.head().seq
    assert calls[0] == ("entries", 0, head)
    assert [done for _, done, _ in calls] == sorted({done for _, done, _ in calls})
    assert len(calls) == -(-head // 5)
