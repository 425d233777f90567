"""Approval policies as values: scope, tiers, and how many checkers an entry needs."""

from __future__ import annotations

import pendulum
import pytest

from aidledger import Account, AccountType, ApprovalPolicy, Fund, InvalidArgument, JournalEntry, Money, Posting, Tier
from aidledger.core.amounts import currency
from aidledger.core.approvals import entry_total, required_checkers

KZT = currency("KZT")
BANK = Account("Assets:Bank", AccountType.ASSET, KZT)
GIFTS = Account("Revenue:Gifts", AccountType.REVENUE, KZT)
MEMO = Account("Memo:Pledges", AccountType.MEMO, KZT, allow_negative=True)
MEMO_CONTRA = Account("Memo:PledgesContra", AccountType.MEMO, KZT, allow_negative=True)
HOUSING = Fund("HOUSING", purpose="housing")


def kzt(amount: str) -> Money:
    return Money(amount, "KZT")


def entry(amount: str, *, kind: str = "donation", memo: str = "0", **tags: str) -> JournalEntry:
    money = kzt(amount)
    postings = [Posting.debit(BANK, HOUSING, money), Posting.credit(GIFTS, HOUSING, money)]
    if memo != "0":
        postings += [Posting.debit(MEMO, HOUSING, kzt(memo)), Posting.credit(MEMO_CONTRA, HOUSING, kzt(memo))]
    return JournalEntry(
        kind=kind,
        effective_at=pendulum.datetime(2020, 4, 1, tz="Asia/Almaty"),
        postings=postings,
        actor="clerk",
        tags=tags,
    )


class TestRequired:
    def test_tiers_count_above_their_amount(self) -> None:
        """At a tier's amount nothing is needed; above it, the highest tier passed decides."""
        policy = ApprovalPolicy(tiers=[(kzt("5000000"), 2), (kzt("1000000"), 1)])
        assert [t.above for t in policy.tiers] == [kzt("1000000"), kzt("5000000")]
        needs = [policy.required(entry(a)) for a in ("1000000", "1000000.01", "5000000", "5000000.01")]
        assert needs == [0, 1, 1, 2]

    def test_memo_lines_do_not_count(self) -> None:
        """Commitments and pledges are memo lines: they are not money paid."""
        assert entry_total(entry("10", memo="9000000"), KZT) == 1000

    def test_the_scope_decides_and_the_strictest_policy_wins(self) -> None:
        """Kind, fund and tag must all match; of several policies, the largest count is needed."""
        by_kind = ApprovalPolicy(kind="grant-tranche", tiers=[(kzt("0"), 1)])
        by_tag = ApprovalPolicy(tag=("project", "P-1"), fund="HOUSING", tiers=[(kzt("0"), 3)])
        assert (by_kind.scope, by_tag.scope) == ("kind=grant-tranche", "fund=HOUSING tag=project=P-1")
        assert required_checkers([by_kind, by_tag], entry("1")) == 0
        assert required_checkers([by_kind, by_tag], entry("1", kind="grant-tranche")) == 1
        assert required_checkers([by_kind, by_tag], entry("1", kind="grant-tranche", project="P-1")) == 3
        assert ApprovalPolicy(tiers=[]).required(entry("1")) == 0

    def test_a_policy_round_trips_through_its_record_body(self) -> None:
        """The body stores minor units; reading it back gives the same policy."""
        policy = ApprovalPolicy(fund="HOUSING", tag=("region", "Abai"), tiers=[Tier(kzt("1000000"), 1)])
        assert policy.body() == {
            "scope": {"fund": "HOUSING", "tag": ["region", "Abai"]},
            "unit": "KZT",
            "tiers": [{"above": 100000000, "checkers": 1}],
        }
        assert ApprovalPolicy.from_body(policy.body(), {"KZT": KZT}) == policy
        assert ApprovalPolicy.from_body(ApprovalPolicy(tiers=[]).body(), {}) == ApprovalPolicy(tiers=[])


class TestRefused:
    @pytest.mark.parametrize(
        ("tiers", "message"),
        [
            ([(kzt("1"), 0)], "1 to 9 checkers"),
            ([(kzt("1"), 10)], "1 to 9 checkers"),
            ([(kzt("1"), True)], "1 to 9 checkers"),
            ([(kzt("1"), "2")], "1 to 9 checkers"),
            ([(1000, 1)], "must be an Amount"),
            ([(kzt("-1"), 1)], "must be an Amount of zero or more"),
            ([(kzt("1"), 1), (kzt("1"), 2)], "two tiers at the same amount"),
            ([(kzt("1"), 1), (Money("1", "USD"), 2)], "share one unit"),
            ([kzt("1")], "expected a Tier"),
            ("1000", "tiers must be a list"),
        ],
    )
    def test_bad_tiers(self, tiers: object, message: str) -> None:
        """A tier with no checkers, too many, a non-amount, or tiers that clash is refused."""
        with pytest.raises(InvalidArgument, match=message):
            ApprovalPolicy(tiers=tiers)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("scope", "message"),
        [
            ({"fund": "no spaces"}, "fund code"),
            ({"kind": ""}, "kind"),
            ({"tag": ("project",)}, "pair"),
            ({"tag": ("project", "")}, "tag"),
        ],
    )
    def test_bad_scopes(self, scope: dict[str, object], message: str) -> None:
        """A malformed fund code, an empty kind or a tag that is not a (name, value) pair is refused."""
        with pytest.raises(InvalidArgument, match=message):
            ApprovalPolicy(tiers=[], **scope)  # type: ignore[arg-type]
