"""Paying through a bank: a list out as pain.001, camt statements back in, settled, donated and matched."""

from __future__ import annotations

import datetime as dt
import re

import pendulum
import pytest
from lxml import etree

from aidledger import (
    Aid,
    DuplicateClaim,
    DuplicateDefinition,
    IdempotencyConflict,
    InvalidArgument,
    MalformedFile,
    PaymentLine,
    match_statement,
    reconcile,
    verify,
)
from aidledger.io.banking import (
    credit_keys,
    export_pain001,
    follow_up_lines,
    post_credits,
    read_bank_file,
    settle_statement,
    statement_lines,
    statement_report,
)
from aidledger.vocabulary import RecordKind
from tests.helpers import snapshot
from tests.io.bank_messages import ACCOUNT, entry, message
from tests.io.bankfile_schemas import pain001_schema
from tests.operations.conftest import APRIL, KEYS, kzt


def bare(amount: str, day: str = "2020-04-03") -> str:
    """A credit whose bank gave it no reference at all."""
    text = entry("X", amount, "CRDT", day=day)
    return text.replace("<NtryRef>X</NtryRef>", "").replace("<AcctSvcrRef>X</AcctSvcrRef>", "")


DAY = pendulum.datetime(2020, 4, 3, 10, tz="Asia/Almaty")
PAYEES = {f"R-{n}": f"KZ{n:02d}125KZT50041001{n:02d}" for n in range(1, 6)}
BANK = {"debtor_name": "Kazakhstan Fund", "debtor_iban": ACCOUNT, "execution_date": dt.date(2020, 4, 3), "created": DAY}


@pytest.fixture
def listed(aid: Aid) -> Aid:
    """Five households approved in list L1 of 50,000 KZT each."""
    aid.donate("CASH-AID", kzt("9000000"), donor="D-1", on=APRIL, actor="cashier")
    aid.create_programme("ONE-OFF", fund="CASH-AID", purpose="cash-aid", amount=kzt("50000"), actor="admin")
    lines = [PaymentLine(KEYS.pseudonym(f"hh-{n}"), f"R-{n}") for n in range(1, 6)]
    aid.pay("ONE-OFF", lines, actor="maker", on=APRIL, list_code="L1")
    return aid


NOTIFICATION = message(
    "054",
    [
        entry("B-1", "250000.00", "DBIT", [(f"R-{n}", "50000.00") for n in range(1, 5)]),  # R-5 was rejected
        entry("C-1", "50000.00", "CRDT", [("R-5", "50000.00")], return_reason="AC01"),
    ],
)
STATEMENT = message(
    "053",
    [
        entry("B-1", "250000.00", "DBIT", [(f"R-{n}", "50000.00") for n in range(1, 5)]),
        entry("C-1", "50000.00", "CRDT", [("R-5", "50000.00")], return_reason="AC01"),
        entry("C-2", "50000.00", "CRDT", [("R-4", "50000.00")], return_reason="AC04"),  # closed account: returned
        entry("D-77", "1000000.00", "CRDT", [("NOTPROVIDED", "1000000.00")]),  # a donation
    ],
    opening="9000000.00",
    closing="9850000.00",
)


class TestPaymentFile:
    def test_a_list_becomes_a_valid_pain001_recorded_in_the_ledger(self, listed: Aid) -> None:
        """One transfer per payment, end-to-end id = reference, nothing personal; its SHA-256 is a record."""
        files = export_pain001(listed.ledger, "L1", actor="treasurer", accounts=PAYEES, **BANK)
        (written,) = files.files
        document = etree.fromstring(written.content)
        assert pain001_schema("001.001.09").validate(document)
        assert (written.number_of_transactions, str(written.control_sum)) == (5, "250000.00")
        ids = [x.text for x in document.iterfind(".//{*}EndToEndId")]
        assert ids == [f"R-{n}" for n in range(1, 6)]
        assert b"hh-" not in written.content and b"v1-" not in written.content  # no registry id, no pseudonym
        record = listed.ledger.record(RecordKind.PAYMENT_FILE, "L1")
        assert record is not None and record.body["sha256"] == written.sha256 and record.subject == "L1"
        again = export_pain001(listed.ledger, "L1", actor="treasurer", accounts=PAYEES, **BANK)
        assert again.files[0].sha256 == written.sha256  # the same file again: the record stands
        with pytest.raises(DuplicateDefinition):  # another file under the same message id is refused
            export_pain001(listed.ledger, "L1", actor="treasurer", accounts=PAYEES, **(BANK | {"created": APRIL}))

    def test_a_re_export_reuses_the_recorded_creation_time(self, listed: Aid) -> None:
        """Without ``created``, a message id exported before is written again byte for byte; progress is reported."""
        bank = {k: v for k, v in BANK.items() if k != "created"} | {"message_id": "BANK-7"}
        calls: list[tuple[str, int, int]] = []
        first = export_pain001(listed.ledger, "L1", actor="t", accounts=PAYEES, max_lines=3,
                               progress=lambda *call: calls.append(call), **bank)  # fmt: skip
        assert calls == [("transfers", 0, 5), ("transfers", 5, 5), ("files", 0, 2), ("files", 1, 2), ("files", 2, 2)]
        again = export_pain001(listed.ledger, "L1", actor="t", accounts=PAYEES, max_lines=3, **bank)
        assert [f.message_id for f in again.files] == ["BANK-7-1", "BANK-7-2"]
        assert [f.content for f in again.files] == [f.content for f in first.files]
        assert again.records == first.records

    def test_split_at_the_banks_limit_and_version_03(self, listed: Aid) -> None:
        files = export_pain001(listed.ledger, "L1", actor="t", accounts=PAYEES, version="001.001.03", max_lines=2,
                               **BANK)  # fmt: skip
        assert [f.message_id for f in files.files] == ["L1-1", "L1-2", "L1-3"]
        assert [f.number_of_transactions for f in files.files] == [2, 2, 1]
        assert all(pain001_schema("001.001.03").validate(etree.fromstring(f.content)) for f in files.files)
        assert [r.code for r in listed.ledger.records(RecordKind.PAYMENT_FILE, subject="L1")] == ["L1-1", "L1-2",
                                                                                                   "L1-3"]  # fmt: skip

    def test_a_payee_without_an_account_is_refused_and_nothing_recorded(self, listed: Aid) -> None:
        before = snapshot(listed.ledger)
        with pytest.raises(InvalidArgument, match="payment R-5 of list L1 has no payee account"):
            export_pain001(listed.ledger, "L1", actor="t", accounts={k: v for k, v in PAYEES.items() if k != "R-5"},
                           **BANK)  # fmt: skip
        assert snapshot(listed.ledger) == before


class TestStatementsIn:
    def test_paid_rejected_returned_and_a_donation(self, listed: Aid) -> None:
        """The notification settles paid and rejected lines; the statement returns one and posts the donation;
        the day's statement then matches the bank account exactly, and everything is posted once."""
        listed.send("L1", provider="Halyk Bank", actor="treasurer", on=DAY)
        first = settle_statement(listed, "L1", read_bank_file(NOTIFICATION, "camt054"), actor="treasurer", on=DAY)
        assert (first.paid, first.failed, first.returned) == (("R-1", "R-2", "R-3", "R-4"), ("R-5",), ())
        day = read_bank_file(STATEMENT, "camt053")
        second = settle_statement(listed, "L1", day, actor="treasurer", on=DAY)
        assert (second.paid, second.failed, second.returned) == ((), (), ("R-4",))
        assert len(second.duplicates) == 5  # what the notification already settled
        (gift,) = post_credits(listed, day, fund="CASH-AID", actor="treasurer", tz="Asia/Almaty")
        assert (str(gift.entry.postings[0].amount), gift.entry.idempotency_key) == (
            "1000000.00 KZT",
            f"bank-credit:{ACCOUNT}:D-77:2020-04-03",
        )
        before = snapshot(listed.ledger)
        assert settle_statement(listed, "L1", day, actor="treasurer", on=DAY).entries == ()
        assert post_credits(listed, day, fund="CASH-AID", actor="treasurer", tz="Asia/Almaty") == (gift,)
        assert snapshot(listed.ledger) == before  # exactly once
        result = match_statement(listed.ledger, statement_lines(day), account="Assets:Bank:KZT", tz="Asia/Almaty")
        assert result.ok, result.as_dict()
        assert len(result.matched) == 4
        assert reconcile(listed.ledger).ok and verify(listed.ledger).ok

    def test_a_follow_up_list_pays_each_household_once(self, listed: Aid) -> None:
        """The rejected and returned households are paid again; one already paid cannot be added."""
        listed.send("L1", provider="Halyk Bank", actor="treasurer", on=DAY)
        settle_statement(listed, "L1", read_bank_file(STATEMENT, "camt053"), actor="treasurer", on=DAY)
        again = follow_up_lines(listed.ledger, "L1")
        assert [line.reference for line in again] == ["R-4-2", "R-5-2"]
        paid = listed.pay("ONE-OFF", again, actor="maker", on=DAY, list_code="L1-F1")
        assert len(paid.posted) == 2
        with pytest.raises(DuplicateClaim):
            listed.pay("ONE-OFF", [PaymentLine(KEYS.pseudonym("hh-1"), "R-1-2")], actor="maker", on=DAY,
                       list_code="L1-F2")  # fmt: skip
        with pytest.raises(DuplicateClaim):  # R-5 is paid in the follow-up: not a third time
            listed.pay("ONE-OFF", follow_up_lines(listed.ledger, "L1", suffix="-3"), actor="maker", on=DAY,
                       list_code="L1-F3")  # fmt: skip
        listed.send("L1-F1", provider="Halyk Bank", actor="treasurer", on=DAY)
        paid_again = message("054", [entry("B-2", "100000.00", "DBIT", [("R-4-2", "50000.00"), ("R-5-2", "50000.00")])])
        settled = settle_statement(listed, "L1-F1", read_bank_file(paid_again, "camt054"), actor="t", on=DAY)
        assert settled.paid == ("R-4-2", "R-5-2") and settled.outstanding == ()
        assert reconcile(listed.ledger).ok

    def test_credits_without_a_reference_are_cited_by_their_place_in_the_statement(self, listed: Aid) -> None:
        """Two equal credits on one day are two donations; the statement read again posts nothing."""
        credits = [bare("10.00"), bare("10.00"), bare("10.00", day="2020-04-04"), bare("12.00")]
        statement = read_bank_file(message("053", credits), "camt053")
        posted = post_credits(listed, statement, fund="CASH-AID", actor="t")
        cited = f"bank-credit:{ACCOUNT}:statement:053-1"
        assert [p.entry.idempotency_key for p in posted] == [
            f"{cited}:2020-04-03:10.00:KZT:1",
            f"{cited}:2020-04-03:10.00:KZT:2",
            f"{cited}:2020-04-04:10.00:KZT:1",
            f"{cited}:2020-04-03:12.00:KZT:1",
        ]
        before = snapshot(listed.ledger)
        assert post_credits(listed, read_bank_file(message("053", credits), "camt053"), fund="CASH-AID",
                            actor="t") == posted  # fmt: skip
        assert snapshot(listed.ledger) == before
        assert credit_keys([(statement[0], e) for e in statement[0].entries]) == [
            p.entry.idempotency_key for p in posted
        ]

    def test_a_notification_credit_without_a_reference_is_refused(self, listed: Aid) -> None:
        """A camt.054 is not the statement of record: the day's camt.053 reports it again under another id."""
        before = snapshot(listed.ledger)
        with pytest.raises(
            MalformedFile, match=r"bank statement line 4: a credit with no entry reference in a camt\.054"
        ):
            post_credits(listed, read_bank_file(message("054", [bare("10.00")]), "camt054"), fund="CASH-AID",
                         actor="t")  # fmt: skip
        assert snapshot(listed.ledger) == before

    def test_the_same_reference_for_another_amount_is_a_conflict(self, listed: Aid) -> None:
        post_credits(listed, read_bank_file(message("053", [entry("D-1", "10.00", "CRDT")]), "camt053"),
                     fund="CASH-AID", actor="t")  # fmt: skip
        with pytest.raises(IdempotencyConflict):
            post_credits(listed, read_bank_file(message("053", [entry("D-1", "11.00", "CRDT")]), "camt053"),
                         fund="CASH-AID", actor="t")  # fmt: skip

    def test_the_kind_must_be_the_files(self) -> None:
        with pytest.raises(MalformedFile, match=r"is a camt\.054\.001\.08 message, not camt\.053"):
            read_bank_file(NOTIFICATION, "camt053")
        with pytest.raises(InvalidArgument, match="unknown bank file kind"):
            read_bank_file(NOTIFICATION, "camt052")


LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]>\n<Document>&lol3;</Document>\n'
)
GOOD = message("053", [entry("D-1", "10.00", "CRDT"), entry("D-2", "20.00", "CRDT")])
HOSTILE = {
    "truncated": (GOOD[: len(GOOD) // 2], "not well-formed XML"),
    "an external entity": (
        b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<Document>&x;</Document>',
        "declares a DOCTYPE",
    ),
    "a billion laughs": (LAUGHS, "declares a DOCTYPE"),
    "a wrong namespace": (GOOD.replace(b"camt.053.001.08", b"camt.053.001.99"), "is not camt.053 or camt.054"),
    "a duplicated entry": (
        message("053", [entry("D-1", "10.00", "CRDT"), entry("D-1", "10.00", "CRDT")]),
        "(a duplicated entry)",
    ),
    "a 20-digit amount": (
        message("053", [entry("D-1", "12345678901234567890", "CRDT")]),
        "has 20 digits, more than the 18 allowed",
    ),
    "a negative amount": (message("053", [entry("D-1", "-10.00", "CRDT")]), "is not a plain positive decimal"),
}


class TestHostileStatements:
    @pytest.mark.parametrize("name", list(HOSTILE))
    def test_refused_with_a_typed_error_and_nothing_written(self, listed: Aid, name: str) -> None:
        """Each hostile file is a MalformedFile naming its line, before anything is settled or posted."""
        data, problem = HOSTILE[name]
        listed.send("L1", provider="Halyk Bank", actor="treasurer", on=DAY)
        before = snapshot(listed.ledger)
        for post in (
            lambda: post_credits(listed, read_bank_file(data, "camt053"), fund="CASH-AID", actor="t"),
            lambda: settle_statement(listed, "L1", read_bank_file(data, "camt053"), actor="t", on=DAY),
        ):
            with pytest.raises(MalformedFile, match=re.escape(problem)) as refused:
                post()
            assert re.search(r"line \d+", str(refused.value))
        assert snapshot(listed.ledger) == before

    def test_a_hostile_mt940_is_refused(self, listed: Aid) -> None:
        statement = (
            b":20:STMT\n:25:KZ86125KZT5004100100\n:28C:1/1\n:60F:C200403KZT1000,00\n"
            b":61:2004030403C123456789012345678,90NTRFD-1//B-1\n:62F:C200403KZT1000,00\n-\n"
        )
        before = snapshot(listed.ledger)
        with pytest.raises(MalformedFile, match=r"line 5: :61: amount .* is longer than 15 characters"):
            post_credits(listed, read_bank_file(statement, "mt940"), fund="CASH-AID", actor="t")
        assert snapshot(listed.ledger) == before


class TestStatementReport:
    def test_a_reversed_debit_gives_the_money_back(self, listed: Aid) -> None:
        """A reversal (RvslInd) booked as a credit names a payment whose money came back: it is failed, not paid."""
        reversal = entry("RV-1", "50000.00", "CRDT", [("R-1", "50000.00")]).replace(
            "<AcctSvcrRef>", "<RvslInd>true</RvslInd><AcctSvcrRef>"
        )
        report = statement_report(listed.ledger, "L1", read_bank_file(message("053", [reversal]), "camt053"))
        assert [(x.reference, x.status.value) for x in report] == [("R-1", "failed")]

    def test_transactions_of_other_lists_are_left_alone(self, listed: Aid) -> None:
        """A batch transaction with no amount is refused only when it names a payment of the list."""
        batch = entry("B-9", "30.00", "DBIT", [("X-1", "10.00"), ("X-2", "20.00")]).replace(
            '<Amt Ccy="KZT">10.00</Amt>', ""
        )
        assert statement_report(listed.ledger, "L1", read_bank_file(message("053", [batch]), "camt053")) == []
        named = batch.replace("X-1", "R-1")
        with pytest.raises(MalformedFile, match="transaction 'R-1' of a batch has no amount"):
            statement_report(listed.ledger, "L1", read_bank_file(message("053", [named]), "camt053"))


def test_a_credit_naming_a_payment_is_never_a_donation(listed: Aid) -> None:
    """Money of a payment coming back without RtrInf is for settle_statement; an excluded id is left out too."""
    back = message("053", [entry("C-9", "50000.00", "CRDT", [("R-2", "50000.00")]),
                           entry("C-10", "70.00", "CRDT", [("INV-7", "70.00")])])  # fmt: skip
    before = snapshot(listed.ledger)
    assert post_credits(listed, read_bank_file(back, "camt053"), fund="CASH-AID", actor="t", exclude={"INV-7"}) == ()
    assert snapshot(listed.ledger) == before
    (gift,) = post_credits(listed, read_bank_file(back, "camt053"), fund="CASH-AID", actor="t")
    assert str(gift.entry.postings[0].amount) == "70.00 KZT"
