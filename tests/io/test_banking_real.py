"""Real bank files (shared/data/bank-statements, read in place, never copied) through io.banking.

Each file's credits are posted as donations exactly once, those with no
reference included (cited by their place in the statement): a second import
posts nothing, and every importer reads every file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from aidledger import Aid, Ledger, MalformedFile, post_credits, read_bank_file, statement_lines
from aidledger.io.banking import BANK_FILE_KINDS
from tests.helpers import snapshot
from tests.io.test_bankfile_real import STATEMENTS

pytestmark = pytest.mark.skipif(not STATEMENTS.is_dir(), reason=f"{STATEMENTS} is not there")

#: file: the donations its credits make.
POSTED: dict[str, int] = {
    "camt053_v02_genkgo_five_decimals.xml": 1,
    "camt053_v02_genkgo_multi_statement.xml": 1,
    "camt053_v02_viafintech_batch.xml": 2,
    "camt053_v02_viafintech_example.xml": 1,
    "camt053_v03_genkgo.xml": 1,
    "camt053_v08_viafintech_example.xml": 2,
    "camt054_v02_genkgo.xml": 0,
    "camt054_v04_viafintech_example.xml": 2,
    "camt054_v08_genkgo.xml": 0,
    "camt054_v08_postfinance_dvbern.xml": 1,
    "mt940_abnamro_nl_jejik.sta": 0,
    "mt940_asn_nl.txt": 3,  # the counterparty's IBAN as reference, repeated on one day: :2, :3
    "mt940_bunq_nl.sta": 26,  # NONREF with no bank reference: cited by statement, day and amount
    "mt940_citi_us.txt": 0,  # zero-amount BAI lines are no donation
    "mt940_cmxl_de_dem.sta": 7,
    "mt940_ing_nl_jejik.sta": 2,
    "mt940_kbs_mk.sta": 1,
    "mt940_knab_nl_jejik.sta": 2,
    "mt940_penta_de.sta": 3,  # NONREF read as type NONR + reference EF by mt-940: no reference
    "mt940_postfinance_ch_jejik.sta": 3,
    "mt940_rabobank_iban_nl_jejik.sta": 0,
    "mt940_sberbank_hu.sta": 0,
    "mt940_triodos_nl_jejik.sta": 0,
}


@pytest.fixture
def aid() -> Iterator[Aid]:
    with Ledger.open("sqlite:///:memory:") as ledger:
        operations = Aid(ledger)
        operations.create_fund("GENERAL")
        yield operations


def test_every_file_is_listed() -> None:
    assert sorted(POSTED) == sorted(p.name for p in STATEMENTS.iterdir())


@pytest.mark.parametrize("name", sorted(POSTED))
def test_credits_posted_once_and_a_second_import_posts_nothing(aid: Aid, name: str) -> None:
    kind = "mt940" if name.startswith("mt940") else name[:7]
    statements = read_bank_file(STATEMENTS / name, kind)
    assert len(statement_lines(statements)) == sum(1 for s in statements for e in s.entries if e.status.value == "BOOK")
    expected = POSTED[name]
    posted = post_credits(aid, statements, fund="GENERAL", actor="t")
    assert len(posted) == expected
    assert len({p.entry.idempotency_key for p in posted}) == expected
    before = snapshot(aid.ledger)
    assert post_credits(aid, statements, fund="GENERAL", actor="t") == posted
    assert snapshot(aid.ledger) == before


@pytest.mark.parametrize("kind", BANK_FILE_KINDS)
@pytest.mark.parametrize("name", sorted(POSTED))
def test_every_importer_on_every_file_reads_it_or_names_what_it_is(name: str, kind: str) -> None:
    """A file given as its own kind reads; given as another, it is a MalformedFile naming the file, never a crash."""
    own = "mt940" if name.startswith("mt940") else name[:7]
    if kind == own:
        assert read_bank_file(STATEMENTS / name, kind)
        return
    with pytest.raises(MalformedFile, match=re.escape(name)):
        read_bank_file(STATEMENTS / name, kind)
