"""Group commit: single posts from the threads sharing a Ledger that arrive together share one transaction.

A durable commit costs a flush to disk, and the ledger's write lock lets one
transaction write at a time, so threads posting one entry each would wait for
each other's flushes.  Instead, a thread that finds the writer busy queues its
request; the next thread to take the writer (the leader) writes every request
queued by then in one transaction, each in a savepoint of its own, and commits
once.  Each request keeps its own outcome: its posted entry, or the error that
refused it alone (a claim already taken, a balance short, a key reused for
another entry), which rolls back its savepoint and nothing else.  An error of
the transaction itself (the database failing, a commit refused) is every
request's outcome, since none of them was written.

Nothing returns before its group is committed, so a returned post is as
durable as one posted alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar, cast

import attrs

I = TypeVar("I")  # noqa: E741 - a request's item
O = TypeVar("O")  # noqa: E741 - its result


@attrs.define
class _Request(Generic[I, O]):
    item: I
    done: bool = False
    outcome: O | BaseException | None = None


class GroupCommit(Generic[I, O]):
    """Run ``write_group`` once for every group of requests that arrive while the writer is busy.

    ``write_group(items)`` writes the items in one transaction and returns one
    outcome per item, in order: a result, or the exception that refused that
    item alone.  An exception it raises is the outcome of every item.
    """

    def __init__(self, write_group: Callable[[list[I]], Sequence[O | BaseException]]) -> None:
        self._write_group = write_group
        self._queue: list[_Request[I, O]] = []
        self._queue_lock = threading.Lock()
        self._leader = threading.Lock()

    def submit(self, item: I) -> O:
        """Write ``item`` in the next group (led by this thread, or by one that got the writer first)."""
        request: _Request[I, O] = _Request(item)
        with self._queue_lock:
            self._queue.append(request)
        with self._leader:
            if not request.done:  # no leader took it yet: this thread leads everything queued so far
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._lead(group)
        outcome = request.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return cast(O, outcome)

    def _lead(self, group: list[_Request[I, O]]) -> None:
        try:
            outcomes: Sequence[O | BaseException] = self._write_group([request.item for request in group])
        except BaseException as error:  # noqa: BLE001 - the group's error is each request's outcome
            outcomes = [error] * len(group)
        for request, outcome in zip(group, outcomes, strict=True):
            request.outcome = outcome
            request.done = True


__all__ = ["GroupCommit"]
