"""Journal-entry testing for auditors: the classic tests of a journal, run on the stored rows.

Each test is a function that returns attrs results (never rows or tuples), and
has a module of its own:

- ``after_close`` — :func:`entries_after_close`: entries the ledger learned of
  after the period they fall in (or next to) was closed;
- ``actors`` — :func:`unusual_actors`: people who made very few entries, and
  entries made outside working hours;
- ``descriptions`` — :func:`entries_without_description`: entries with an empty or blank memo;
- ``round_figures`` — :func:`round_amounts`: entries whose amount is an exact multiple of a round figure;
- ``splits`` — :func:`split_under_threshold`: amounts kept at or under an
  approval threshold by splitting them;
- ``programmes`` — :func:`same_beneficiary_several_programmes`: one pseudonym
  holding live payments from several programmes for the same purpose;
- ``samples`` — :func:`sample_entries`: a reproducible random or monetary-unit sample;
- ``report`` — :func:`journal_tests`: all of the above in one :class:`JournalTestReport`.

What they share: ``scope`` reads which entries a test looks at (from one
:class:`~aidledger.Window`), ``entries`` what a test reads
of an entry (:class:`EntryRef`, :class:`TimeBasis`, its amount in a currency),
and ``arguments`` the checks of arguments several tests take.

Common rules:

- **Which entries.** Every function takes a ``window``, the same
  :class:`~aidledger.Window` every audit query takes (its ``known_at`` keeps the
  entries the ledger had recorded by then, so a test re-run later gives the same
  answer; its ``start`` and ``end`` bound effective times, ``start`` inclusive and
  ``end`` exclusive), and ``kinds`` / ``exclude_kinds``.  A call
  also pins the journal at its newest entry when it starts (``through_seq``),
  so entries posted while it runs never mix into its answer.
- **The amount of an entry** in a currency is the sum of its positive postings
  (its debits) in that currency, memo accounts (commitments, pledges) left out,
  as in :attr:`aidledger.PendingBatch.total`.  An entry with no such posting
  has no amount in that currency.  Arithmetic is on integer minor units only.
- Every argument is checked; a wrong one raises :class:`~aidledger.InvalidArgument`
  (or its subclasses :class:`~aidledger.InvalidAmount` and :class:`~aidledger.InvalidTime`).
"""

from aidledger.queries.entry_testing.actors import OffHoursEntry, RareActor, UnusualActors, unusual_actors
from aidledger.queries.entry_testing.after_close import AfterClose, AfterCloseReason, entries_after_close
from aidledger.queries.entry_testing.descriptions import EntriesWithoutDescription, entries_without_description
from aidledger.queries.entry_testing.entries import EntryRef, TimeBasis
from aidledger.queries.entry_testing.programmes import SeveralProgrammes, same_beneficiary_several_programmes
from aidledger.queries.entry_testing.report import JournalTestReport, journal_tests
from aidledger.queries.entry_testing.round_figures import RoundAmount, round_amounts
from aidledger.queries.entry_testing.samples import Sample, SampledEntry, SampleMethod, sample_entries
from aidledger.queries.entry_testing.splits import (
    COUNTERPARTY_TAGS,
    SplitGroup,
    SplitItem,
    SplitReason,
    split_under_threshold,
)

__all__ = [
    "COUNTERPARTY_TAGS",
    "AfterClose",
    "AfterCloseReason",
    "EntriesWithoutDescription",
    "EntryRef",
    "JournalTestReport",
    "OffHoursEntry",
    "RareActor",
    "RoundAmount",
    "Sample",
    "SampleMethod",
    "SampledEntry",
    "SeveralProgrammes",
    "SplitGroup",
    "SplitItem",
    "SplitReason",
    "TimeBasis",
    "UnusualActors",
    "entries_after_close",
    "entries_without_description",
    "journal_tests",
    "round_amounts",
    "same_beneficiary_several_programmes",
    "sample_entries",
    "split_under_threshold",
    "unusual_actors",
]
