"""No export and no command output of the demo campaign carries personal data, unless explicitly asked for.

The campaign's registry ids (``KZ-HH-0000001``, ``KZ-MED-00000``) are registered
with fake names, national ids, phone numbers and addresses; then every export
and every ``aidledger`` command's stdout, stderr and files are scanned for all
of them, and for the registry ids themselves.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import stat
from pathlib import Path

import attrs
import pytest

from aidledger import (
    Aid,
    CampaignPlan,
    Ledger,
    Money,
    Pseudonymizer,
    Registry,
    ReportingOrg,
    export_beancount,
    export_csv,
    export_hledger,
    export_html,
    export_iati,
    run_campaign,
)
from aidledger.cli import main
from aidledger.demo.plan import APPROVAL_THRESHOLD
from aidledger.exports.csv import COLUMNS, PERSONAL_COLUMNS
from tests.registry import KEYS, fake

PLAN = CampaignPlan.scaled("0.0005")
KEY_ENV = "AIDLEDGER_PSEUDONYM_KEY"
KEY_FILE_ENV = "AIDLEDGER_PSEUDONYM_KEY_FILE"
IATI = ["--reporting-org", "KZ-BIN-123456789012=Kazakhstan Fund", "--country", "KZ"]
FORMATS = {"beancount": [], "hledger": [], "csv": [], "html": [], "iati": IATI}


@attrs.frozen
class Demo:
    """The demo campaign's ledger, its registry, and every personal value the registry holds."""

    ledger: str
    registry: str
    people: dict[str, dict[str, str]]  # registry id -> fake personal data
    folder: Path

    def values(self) -> set[str]:
        """Every personal value and registry id, in the forms an output could carry them."""
        found: set[str] = set()
        for registry_id, data in self.people.items():
            for value in (registry_id, *data.values()):
                found |= {value, html.escape(value), json.dumps(value)[1:-1]}
        return found


@attrs.frozen
class Output:
    status: int
    stdout: str
    stderr: str


def command(*args: str) -> Output:
    """Run the ``aidledger`` command in this process (as its entry point does) and capture what it prints."""
    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", newline="", write_through=True)
    status = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main(list(args))
        except SystemExit as done:
            status = int(done.code or 0)
    stdout.flush()
    stderr.flush()
    return Output(status, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo campaign at 1/2000 scale on SQLite, and a registry of every person it pays or feeds."""
    folder = tmp_path_factory.mktemp("demo")
    ledger_path, registry_path = folder / "demo.db", folder / "registry.db"
    with Ledger.open(str(ledger_path)) as ledger:
        run_campaign(Aid(ledger, approval_threshold=Money(APPROVAL_THRESHOLD, "KZT")), PLAN, keys=KEYS)
    ids = [f"KZ-HH-{n:07d}" for n in range(max(PLAN.households, PLAN.food_families))]
    ids += [f"KZ-MED-{n:05d}" for n in range(PLAN.medical_workers)]
    people = {registry_id: fake(n) for n, registry_id in enumerate(ids)}
    with Registry.open(str(registry_path), keys=KEYS) as registry:
        for registry_id, data in people.items():
            registry.register(registry_id, **data)
    (folder / "statement.csv").write_text(
        "date,amount,reference,description\n2020-04-01,4255000.00,SWIFT 2020-0401,Diaspora fund\n"
        "2020-04-02,-1.00,X-1,unknown\n"
    )
    (folder / "report.csv").write_text(
        "reference,status,amount\nF0000000,paid,50000.00\nF0000001,failed,50000.00\nF9999999,paid,50000.00\n"
    )
    return Demo(str(ledger_path), str(registry_path), people, folder)


def command_lines(demo: Demo) -> dict[str, list[str]]:
    """Every command of the tool, run on the demo ledger, by a name for messages."""
    url, folder = demo.ledger, demo.folder
    found: dict[str, list[str]] = {}
    for suffix in ([], ["--json"]):
        name = " ".join(suffix)
        found |= {
            f"demo {name}": ["demo", url, "--scale", "0.0005", *suffix],
            f"verify {name}": ["verify", url, *suffix],
            f"reconcile {name}": ["reconcile", url, *suffix],
            f"report {name}": ["report", url, *suffix],
            f"report --journal-tests {name}": [
                "report", url, "--journal-tests", "--threshold", "100000000 KZT", "--tz", "Asia/Almaty", *suffix,
            ],
            f"report by programme {name}": [
                "report", url, "--by", "programme,region,list,month", "--fund", "CASH-AID", *suffix,
            ],
            f"report received {name}": ["report", url, "--flow", "received", "--by", "donor,fund,currency", *suffix],
            f"import statement {name}": ["import", url, str(folder / "statement.csv"), "--kind", "statement", *suffix],
            f"import provider report {name}": [
                "import", url, str(folder / "report.csv"), "--kind", "provider-report", "--list", "FAM-00001", *suffix,
            ],
        }  # fmt: skip
    for format_, extra in FORMATS.items():
        found[f"export {format_} to stdout"] = ["export", url, "-f", format_, *extra]
        found[f"export {format_} to a file"] = [
            "export",
            url,
            "-f",
            format_,
            "-o",
            str(folder / f"out.{format_}"),
            *extra,
        ]
    found["import provider report --settle"] = [
        "import", url, str(folder / "report.csv"), "--kind", "provider-report", "--list", "FAM-00001", "--settle",
        "--actor", "cashier",
    ]  # fmt: skip
    return found


def leaks(text: str, values: set[str]) -> list[str]:
    return sorted(value for value in values if value in text)


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)


@pytest.mark.usefixtures("no_key")
class TestNoPersonalData:
    def test_every_command_output_carries_pseudonyms_only(self, demo: Demo) -> None:
        """stdout, stderr and written files of every command hold no personal value and no registry id."""
        values = demo.values()
        outputs: dict[str, str] = {}
        for name, args in command_lines(demo).items():
            result = command(*args)
            assert result.status in (0, 1), f"{name}: {result.stderr}"
            outputs[name] = result.stdout + result.stderr
            if "-o" in args:
                written = Path(args[args.index("-o") + 1])
                outputs[name] += written.read_bytes().decode("utf-8")
                assert written.stat().st_size > 0
        assert "beneficiar" in outputs["export csv to stdout"]  # the scan sees the lines that name beneficiaries
        assert KEYS.pseudonym("KZ-HH-0000000").pseudonym in outputs["export csv to stdout"]
        found = {name: leaks(text, values) for name, text in outputs.items()}
        assert {name: hits for name, hits in found.items() if hits} == {}

    def test_every_library_export_carries_pseudonyms_only(self, demo: Demo) -> None:
        """Beancount, hledger, CSV, IATI and the HTML report, written through the API, hold no personal value."""
        values = demo.values()
        with Ledger.open(demo.ledger) as ledger:
            texts = {}
            for name, exporter in (("beancount", export_beancount), ("hledger", export_hledger), ("csv", export_csv)):
                stream = io.StringIO()
                exporter(ledger, stream)
                texts[name] = stream.getvalue()
            stream = io.StringIO()
            export_html(ledger, stream)
            texts["html"] = stream.getvalue()
            binary = io.BytesIO()
            export_iati(ledger, binary, reporting_org=ReportingOrg("KZ-BIN-123456789012", "Kazakhstan Fund", "60"))
            texts["iati"] = binary.getvalue().decode("utf-8")
        assert all(len(text) > 1000 for text in texts.values())
        assert {name: leaks(text, values) for name, text in texts.items() if leaks(text, values)} == {}


class TestPersonalDataOnRequest:
    def test_personal_data_option_adds_the_registry_s_values_and_warns(
        self, demo: Demo, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """export -f csv --personal-data --registry puts each paid person's data next to their pseudonym, and warns."""
        monkeypatch.setenv(KEY_ENV, KEYS.keys[1].hex())
        result = command("export", demo.ledger, "-f", "csv", "--personal-data", "--registry", demo.registry)
        assert result.status == 0, result.stderr
        assert result.stderr.startswith("aidledger: warning: this export holds personal data")
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert tuple(rows[0]) == (*COLUMNS, *PERSONAL_COLUMNS)
        shown = {row["beneficiary"]: row for row in rows if row["beneficiary"]}
        for registry_id, data in demo.people.items():
            row = shown[KEYS.pseudonym(registry_id).pseudonym]
            assert row["beneficiary_status"] == "registered"
            # A text cell starting with + (a phone number) comes with a ' in front, against formula injection.
            cells = [row[c].removeprefix("'") for c in ("registry_id", "name", "national_id", "phone", "address")]
            assert cells == [
                registry_id,
                *data.values(),
            ]
        assert all(row["beneficiary_status"] == "" for row in rows if not row["beneficiary"])

    def test_the_key_may_come_from_a_key_file(self, demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
        """AIDLEDGER_PSEUDONYM_KEY_FILE names a file holding the key (hex), as the docs say."""
        monkeypatch.delenv(KEY_ENV, raising=False)
        key_file = demo.folder / "pseudonym.key"
        key_file.write_text(KEYS.keys[1].hex() + "\n")
        monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
        target = demo.folder / "personal.csv"
        args = ["export", demo.ledger, "-f", "csv", "--personal-data", "--registry", demo.registry, "-o", str(target)]
        result = command(*args)
        assert result.status == 0, result.stderr
        assert "personal data" in result.stderr and f"wrote csv to {target}" in result.stderr
        assert demo.people["KZ-MED-00000"]["national_id"] in target.read_text(encoding="utf-8")
        assert stat.S_IMODE(target.stat().st_mode) == 0o600  # personal data: readable by its owner only

    def test_a_personal_export_over_a_shared_file_narrows_its_mode(
        self, demo: Demo, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Writing personal data over a file that others could read leaves it readable by its owner only."""
        monkeypatch.setenv(KEY_ENV, KEYS.keys[1].hex())
        target = demo.folder / "shared.csv"
        target.write_text("old\n")
        target.chmod(0o644)
        args = ["export", demo.ledger, "-f", "csv", "--personal-data", "--registry", demo.registry, "-o", str(target)]
        assert command(*args).status == 0
        assert stat.S_IMODE(target.stat().st_mode) == 0o600

    def test_erased_and_shredded_people_show_no_data(
        self, demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """In the personal export, an erased person is 'unknown' and a key-shredded one 'unreadable', both empty."""
        monkeypatch.setenv(KEY_ENV, KEYS.keys[1].hex())
        path = tmp_path / "small-registry.db"
        people = {registry_id: demo.people[registry_id] for registry_id in ("KZ-HH-0000000", "KZ-HH-0000001")}
        people["KZ-HH-0000002"] = demo.people["KZ-HH-0000002"]
        with Registry.open(str(path), keys=KEYS) as registry:
            for registry_id, data in people.items():
                registry.register(registry_id, **data)
            registry.erase("KZ-HH-0000000")
            registry.forget_key("KZ-HH-0000001")
        result = command("export", demo.ledger, "-f", "csv", "--personal-data", "--registry", str(path))
        assert result.status == 0, result.stderr
        rows = {row["beneficiary"]: row for row in csv.DictReader(io.StringIO(result.stdout)) if row["beneficiary"]}
        status = {registry_id: rows[KEYS.pseudonym(registry_id).pseudonym] for registry_id in people}
        assert [row["beneficiary_status"] for row in status.values()] == ["unknown", "unreadable", "registered"]
        assert status["KZ-HH-0000002"]["name"] == people["KZ-HH-0000002"]["name"]
        gone = {k: v for k, v in demo.people.items() if k in ("KZ-HH-0000000", "KZ-HH-0000001")}
        assert leaks(result.stdout, attrs.evolve(demo, people=gone).values()) == []
        assert {row["beneficiary_status"] for row in rows.values()} == {"unknown", "unreadable", "registered"}

    @pytest.mark.parametrize(
        ("args", "key", "message"),
        [
            (["-f", "csv", "--personal-data"], True, "--personal-data needs --registry URL"),
            (["-f", "csv", "--registry", "{registry}"], True, "--registry is read only with --personal-data"),
            (["-f", "beancount", "--personal-data", "--registry", "{registry}"], True, "for --format csv only"),
            (["-f", "csv", "--personal-data", "--registry", "{registry}"], False, "no pseudonym key: set"),
            (["-f", "csv", "--personal-data", "--registry", "{registry}"], "other", "not the key this registry"),
            (["-f", "csv", "--personal-data", "--registry", "{folder}/none.db"], True, "there is no registry at"),
        ],
    )
    def test_personal_data_needs_the_option_the_registry_and_its_key(
        self,
        demo: Demo,
        monkeypatch: pytest.MonkeyPatch,
        args: list[str],
        key: bool | str,
        message: str,
    ) -> None:
        """Without the option, the registry, or the right key, the command exits 2, names why, and writes nothing."""
        monkeypatch.delenv(KEY_FILE_ENV, raising=False)
        if key:
            secret = Pseudonymizer({1: bytes(32)}) if key == "other" else KEYS
            monkeypatch.setenv(KEY_ENV, secret.keys[1].hex())
        else:
            monkeypatch.delenv(KEY_ENV, raising=False)
        target = demo.folder / "refused.csv"
        filled = [a.format(registry=demo.registry, folder=demo.folder) for a in args]
        result = command("export", demo.ledger, *filled, "-o", str(target))
        assert result.status == 2
        assert message in result.stderr
        assert not target.exists() and not (demo.folder / "none.db").exists()
        assert leaks(result.stdout + result.stderr, demo.values()) == []


def test_the_scan_would_find_a_leak(demo: Demo) -> None:
    """The scan is not blind: a value written in any of the forms it looks for is found."""
    name = demo.people["KZ-HH-0000005"]["name"]
    for text in (name, json.dumps({"n": name}), html.escape(name), f"<td>{name}</td>"):
        assert leaks(text, demo.values()) != []
