"""camt.053 and camt.054 messages written for the tests of the bank flow (amounts in KZT, version .08)."""

from __future__ import annotations

from collections.abc import Sequence

ACCOUNT = "KZ86125KZT5004100100"


def _amount(value: str) -> str:
    return f'<Amt Ccy="KZT">{value}</Amt>'


def entry(
    reference: str,
    amount: str,
    side: str,
    transactions: Sequence[tuple[str, str]] = (),
    *,
    day: str = "2020-04-03",
    return_reason: str | None = None,
    status: str = "BOOK",
) -> str:
    """One ``Ntry``: ``transactions`` are (end-to-end id, amount) pairs, each a ``TxDtls``."""
    details = "".join(
        f"<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>{_amount(value)}"
        + (f"<RtrInf><Rsn><Cd>{return_reason}</Cd></Rsn></RtrInf>" if return_reason else "")
        + "</TxDtls>"
        for e2e, value in transactions
    )
    return (
        f"<Ntry><NtryRef>{reference}</NtryRef>{_amount(amount)}<CdtDbtInd>{side}</CdtDbtInd>"
        f"<Sts><Cd>{status}</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>{reference}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        + (f"<NtryDtls>{details}</NtryDtls>" if details else "")
        + "</Ntry>\n"
    )


def message(kind: str, entries: Sequence[str], *, opening: str | None = None, closing: str | None = None) -> bytes:
    """A camt.053 (``kind="053"``) statement or camt.054 notification of the fund's account."""
    balances = ""
    for code, value in (("OPBD", opening), ("CLBD", closing)):
        if value is not None:
            balances += (
                f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>{_amount(value)}"
                f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2020-04-03</Dt></Dt></Bal>\n"
            )
    root, report = ("BkToCstmrStmt", "Stmt") if kind == "053" else ("BkToCstmrDbtCdtNtfctn", "Ntfctn")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.08">'
        f"<{root}><GrpHdr><MsgId>BANK-{kind}-1</MsgId><CreDtTm>2020-04-03T18:00:00+06:00</CreDtTm></GrpHdr>\n"
        f"<{report}><Id>{kind}-1</Id><CreDtTm>2020-04-03T18:00:00+06:00</CreDtTm>"
        f"<Acct><Id><IBAN>{ACCOUNT}</IBAN></Id><Ccy>KZT</Ccy></Acct>\n{balances}{''.join(entries)}"
        f"</{report}></{root}></Document>\n"
    ).encode()
