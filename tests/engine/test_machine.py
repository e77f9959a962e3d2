"""The ceremony machine on the fake token: flows end to end, and every rule it enforces live."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from ceremony.core import journal, kcv, shamir
from ceremony.core.component import Scheme
from ceremony.core.providers.common import Fingerprint
from ceremony.core.registry import (
    Holding,
    RecordEvent,
    Registry,
    RegistryRecord,
    parse_registry,
    serialise_registry,
)
from ceremony.core.rules import RuleBreach
from ceremony.engine.machine import CeremonyStopped, Machine, Status
from ceremony.engine.requests import AnswerRefused, RequestKind
from ceremony.errors import RuleViolation
from ceremony.hsm.fake import FakeBackend, FakeToken
from tests.engine.helpers import (
    PASSPHRASE,
    Capture,
    drive,
    import_key_pairs,
    networked,
    outcome_entries,
    rehearsal_doc,
    scan,
    script_for,
    services,
    write_ceremony,
    write_imports,
)

pytestmark = pytest.mark.usefixtures("cheap_scrypt")

PINS = {"user": "1234", "so": "5678"}


def doc_for(kind: str, ceremony_id: str = "c-test") -> dict[str, Any]:
    return rehearsal_doc(kind, module="<fake>", label="fake-token", ceremony_id=ceremony_id)


def machine_for(
    folder: Path, doc: dict[str, Any], fake: FakeBackend | None = None, **kw: Any
) -> tuple[Machine, Capture, FakeBackend]:
    fake = fake or FakeBackend(FakeToken())
    delivery = Capture()
    write_imports(folder)
    path = write_ceremony(folder, doc)
    return Machine(path, services=services(lambda c: fake, delivery, **kw)), delivery, fake


# ---- flows end to end -----------------------------------------------------------------------


def test_split_backup_end_to_end(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, delivery, fake = machine_for(tmp_path, doc)
    assert drive(machine, script_for(doc, PINS)) is None
    outcome = machine.outcome
    assert outcome.status is Status.FINISHED
    verified = journal.verify(outcome.journal.read_bytes(), require_closed=True)  # type: ignore[union-attr]
    events = [e.event for e in verified.entries]
    assert events.count("participant_present") == 8
    assert events.count("component_issued") == 5 and events.count("envelope_sealed") == 5
    # Rehearsal: each custodian form lands in the bundle, then the REHEARSAL marker.
    assert events.count("output_written") == 5 + 1
    assert events[-4:] == ["key_imported", "output_written", "registry_updated", "finished"]
    # Each component operation comes right after its own approval.
    for i, name in enumerate(events):
        if name in ("component_issued", "key_generated"):
            assert events[i - 1] == "approval"
    # Any 3 of the 5 components the custodians copied down rebuild the key stored in the token.
    parts = delivery.components()
    stored = fake.state.keys["zmk-prod"].value
    assert stored is not None
    recorded = kcv.check_value(stored, kcv.KcvMethod.AES_CMAC)
    with shamir.combine(parts[1:4], expected=recorded) as rebuilt:
        assert rebuilt == stored
    registry = parse_registry((tmp_path / "registry/custodians.json").read_bytes())
    assert len(registry.records) == 6  # five custodians and the backup of component 1
    assert delivery.hidden == 5
    secrets = [bytes(stored.reveal()), *(bytes(c.value.reveal()) for c in parts)]
    assert scan([tmp_path], secrets) == []


def test_after_login_an_officer_reads_what_the_token_cannot_do(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, _, fake = machine_for(tmp_path, doc)
    preflight = drive(machine, script_for(doc, PINS), until="hsm/preflight")
    assert preflight is not None and preflight.kind is RequestKind.CONFIRMATION
    assert preflight.who.candidates and preflight.who.participant is None  # an officer
    cannot = [s.capability.value for s in fake.preflight().statuses if not s.supported]
    text = "\n".join(preflight.lines)
    assert "This token CANNOT:" in text and cannot and all(what in text for what in cannot)
    assert text.index("CANNOT") < text.index("This token can:")


def test_generate_export_wraps_in_the_hsm_and_in_software_under_dual_control(
    tmp_path: Path,
) -> None:
    doc = doc_for("generate-export")
    doc["keys"][0]["targets"][2]["wrap"] = "software"
    machine, _, fake = machine_for(tmp_path, doc)
    drive(machine, script_for(doc, PINS))
    entries = outcome_entries(machine.outcome)
    events = [e["event"] for e in entries]
    exported = events.index("key_exported")
    assert entries[exported - 1]["data"]["operation"] == "clear-export"
    software = next(
        e for e in entries if e["event"] == "wrapped" and e["data"]["where"] == "software"
    )
    before = entries[software["seq"] - 1]
    assert before["data"]["operation"] == "software-wrap"
    assert before["data"]["subject"] == "payments-dek target gcp-payments"
    assert software["data"]["manual_cleartext"] is True
    key = fake.state.keys["payments-dek"].value
    assert key is not None
    bundle = tmp_path / "out/bundle/payments-dek"
    pairs = import_key_pairs()
    blob = (bundle / "aws-payments/EncryptedKeyMaterial.bin").read_bytes()
    assert pairs.open_composite("aws", blob) == bytes(key.reveal())
    assert scan([tmp_path], [bytes(key.reveal())]) == []


def test_split_pin_and_a_wrong_pin_asked_again(tmp_path: Path) -> None:
    doc = doc_for("generate-export")
    doc["hsm"]["login"] = "split-pin"
    machine, _, _ = machine_for(tmp_path, doc)
    script = script_for(doc, {"user": "1299", "so": "5678"})
    request = drive(machine, script, until="hsm/user-pin/half-2")
    assert request is not None and request.kind is RequestKind.SECRET
    # The second half comes from the other officer only.
    assert request.who.candidates == ("bokafor",)
    with pytest.raises(AnswerRefused, match="wrong user PIN"):
        machine.answer("99", by="bokafor")
    # The SO PIN was checked when it was typed: only the user PIN is asked again.
    assert machine.current is not None and machine.current.step == "hsm/user-pin/half-1"
    assert machine.current.tries == "2 of 3"
    script.pins["user"] = "1234"
    request = machine.current
    while request is not None:
        value, by = script.answer(request)
        request = machine.answer(value, by=by)
    opened = next(e for e in outcome_entries(machine.outcome) if e["event"] == "hsm_opened")
    assert opened["data"]["login"] == "split-pin"
    assert opened["data"]["officers"] == ["amartin", "bokafor"]


def test_answers_from_a_worker_thread(tmp_path: Path) -> None:
    doc = doc_for("destroy")
    fake = FakeBackend(FakeToken())
    from ceremony.hsm.base import KeySpec as TokenSpec

    with fake.open(_Pins()) as session:
        session.generate_key("zmk-2019", TokenSpec.AES_128)
    doc["keys"][0] = {"label": "zmk-2019", "type": "AES", "bits": 128}
    machine, _, _ = machine_for(tmp_path, doc, fake)
    script = script_for(doc, PINS)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            drive(machine, script)
        except BaseException as ex:  # pragma: no cover - reported below
            failures.append(ex)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(60)
    assert not failures and machine.status is Status.FINISHED
    assert "zmk-2019" not in fake.state.keys
    destroyed = outcome_entries(machine.outcome)[-2]
    assert destroyed["event"] == "key_destroyed"


class _Pins:
    def pin(self, request: Any) -> Any:
        from ceremony.core.secret import Secret

        return Secret(b"1234" if request.role.name == "USER" else b"5678")

    def confirm_final_try(self, request: Any) -> bool:
        return False


# ---- dual control ---------------------------------------------------------------------------


def test_dual_control_cannot_be_broken(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    request = drive(machine, script_for(doc, PINS), until="approve/show-component/zmk-prod/1/1")
    assert request is not None and request.kind is RequestKind.APPROVAL
    assert "amartin" in request.who.candidates
    # Emma is component 1's custodian: she may approve, but never alone or with her backup.
    machine.answer(PASSPHRASE.format("ebrown"), by="ebrown")
    second = machine.current
    assert second is not None and "jlee" not in second.who.candidates
    with pytest.raises(AnswerRefused, match="already approved") as twice:
        machine.answer(PASSPHRASE.format("ebrown"), by="ebrown")
    assert isinstance(twice.value.cause, RuleBreach)
    with pytest.raises(AnswerRefused, match="custodian involved"):
        machine.answer(PASSPHRASE.format("jlee"), by="jlee")
    with pytest.raises(AnswerRefused, match="does not match"):
        machine.answer("someone else's guess", by="cwright")
    with pytest.raises(AnswerRefused, match="say who answers"):
        machine.answer(PASSPHRASE.format("cwright"))
    assert machine.answer(PASSPHRASE.format("cwright"), by="cwright") is not None
    approval = outcome_entries(machine.outcome)[-1]
    assert approval["event"] == "approval"
    assert approval["data"]["approvers"] == ["ebrown", "cwright"]
    assert approval["data"]["subject"] == "zmk-prod component 1"
    machine.abort("test over", by="amartin")


def test_three_wrong_passphrases_stop_the_ceremony(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    drive(machine, script_for(doc, PINS), until="approve/generate-outside-hsm")
    for _ in range(2):
        with pytest.raises(AnswerRefused):
            machine.answer("not it at all", by="cwright")
    with pytest.raises(RuleViolation, match="3 wrong approval passphrases"):
        machine.answer("not it either", by="cwright")
    assert machine.status is Status.ABORTED
    events = [e["event"] for e in outcome_entries(machine.outcome)]
    assert events[-2:] == ["step_failed", "aborted"]


def test_an_auditor_never_approves(tmp_path: Path) -> None:
    doc = doc_for("generate-export")
    doc["keys"][0]["targets"][0]["wrap"] = "software"
    machine, _, _ = machine_for(tmp_path, doc)
    drive(machine, script_for(doc, PINS), until="approve/clear-export")
    with pytest.raises(AnswerRefused, match="auditor and may not approve"):
        machine.answer(PASSPHRASE.format("dnguyen"), by="dnguyen")
    machine.abort("test over")


# ---- split knowledge ------------------------------------------------------------------------


def _record(person: str, index: int, split_set: str, reference: str) -> RegistryRecord:
    return RegistryRecord(
        ceremony=split_set,
        key="zmk-prod",
        set=split_set,
        scheme=Scheme.SHAMIR,
        threshold=3,
        count=5,
        component=index,
        person=person,
        name="Someone",
        id_reference=reference,
        holding=Holding.CUSTODIAN,
        event=RecordEvent.ISSUED,
        time="2025-01-01T00:00:00.000Z",
    )


@pytest.mark.parametrize(
    ("records", "match"),
    [
        # Felipe held component 1 of an earlier attempt's set; now he is named for component 2.
        (
            [_record("fgarcia", 1, "c-test", "staff badge 0212")],
            r"held a component of set\(s\) c-test",
        ),
        # Felipe held a component of an earlier split of the same key.
        ([_record("fgarcia", 4, "2024-zmk-old", "staff badge 0212")], "from any split"),
    ],
)
def test_a_registry_showing_earlier_knowledge_refuses_the_start(
    tmp_path: Path, records: list[RegistryRecord], match: str
) -> None:
    doc = doc_for("split-backup")
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry/custodians.json").write_bytes(
        serialise_registry(Registry(tuple(records)))
    )
    machine, _, _ = machine_for(tmp_path, doc)
    with pytest.raises(RuleBreach, match=match):
        machine.start()
    assert not (tmp_path / "out").exists()


def test_one_person_given_two_components_refuses_the_start(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    doc["keys"][0]["split"]["components"][1]["custodian"] = "ebrown"
    machine, _, _ = machine_for(tmp_path, doc)
    with pytest.raises(RuleBreach, match="components 1 and 2"):
        machine.start()


# ---- air gap, tokens, pins, aborts ----------------------------------------------------------


def _production(tmp_path: Path) -> dict[str, Any]:
    doc = doc_for("generate-export")
    doc["ceremony"]["rehearsal"] = False
    # A production record is signed by a production key: this ceremony creates it.
    doc["signing"] = {"create": True, "organization": "Example Payments Ltd"}
    write_imports(tmp_path)
    pairs = import_key_pairs().public
    from cryptography.hazmat.primitives import serialization

    for target, key in zip(
        doc["keys"][0]["targets"], (pairs.aws, pairs.azure, pairs.gcp), strict=True
    ):
        der = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        target["fingerprint"] = Fingerprint.of_spki(der).hex
    return doc


def test_production_on_a_networked_machine_stops_unless_two_officers_override(
    tmp_path: Path,
) -> None:
    doc = _production(tmp_path / "a")
    machine, _, _ = machine_for(tmp_path / "a", doc, airgap=networked)
    request = machine.start()
    assert request is not None and request.step == "airgap/choice"
    with pytest.raises(CeremonyStopped):
        machine.answer("stop", by="amartin")
    events = [e["event"] for e in outcome_entries(machine.outcome)]
    assert events == ["genesis", "airgap_checked", "aborted"]

    doc = _production(tmp_path / "b")
    machine, _, _ = machine_for(tmp_path / "b", doc, airgap=networked)
    request = machine.start()
    machine.answer("override", by="amartin")
    request = drive_on(machine, script_for(doc, PINS), until="approve/air-gap-override")
    assert request.who.candidates == ("amartin", "bokafor")
    machine.answer(PASSPHRASE.format("amartin"), by="amartin")
    with pytest.raises(AnswerRefused, match="witness and may not approve"):
        machine.answer(PASSPHRASE.format("cwright"), by="cwright")
    machine.answer(PASSPHRASE.format("bokafor"), by="bokafor")
    drive_on(machine, script_for(doc, PINS))
    checked = [e for e in outcome_entries(machine.outcome) if e["event"] == "airgap_checked"]
    assert len(checked) == 1  # journaled once, with the override
    assert checked[0]["data"]["override_by"] == ["amartin", "bokafor"]
    assert checked[0]["data"]["isolated"] is False
    assert machine.status is Status.FINISHED


def drive_on(machine: Machine, script: Any, until: str | None = None) -> Any:
    request = machine.current
    while request is not None:
        if until is not None and request.step.startswith(until):
            return request
        value, by = script.answer(request)
        request = machine.answer(value, by=by)
    return None


def test_a_pinned_fingerprint_that_differs_stops(tmp_path: Path) -> None:
    doc = _production(tmp_path)
    doc["keys"][0]["targets"][1]["fingerprint"] = "ab" * 32
    machine, _, _ = machine_for(tmp_path, doc)
    with pytest.raises(RuleViolation, match="not the one the ceremony file pins"):
        drive(machine, script_for(doc, PINS))
    events = [e["event"] for e in outcome_entries(machine.outcome)]
    assert events[-2:] == ["step_failed", "aborted"]
    assert "wrapped" not in events and "hsm_opened" not in events


def test_a_rehearsal_refuses_a_production_token(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc, rehearsal_token=False)
    with pytest.raises(RuleViolation, match="rehearsal SoftHSM2 token"):
        machine.start()


def test_abort_hides_the_component_wipes_and_a_restart_is_a_new_ceremony(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, delivery, fake = machine_for(tmp_path, doc)
    request = drive(machine, script_for(doc, PINS), until="component/zmk-prod/2/kcv")
    assert request is not None and request.display is not None
    assert "zmk-prod" in repr(request.display) and "01:" not in repr(request.display)
    held = list(machine._ctx.secrets)  # type: ignore[union-attr]
    machine.abort("a custodian was taken ill", by="amartin")
    assert machine.status is Status.ABORTED
    assert delivery.hidden == len(delivery.shown) == 2
    assert held and all(s.closed for s in held)
    last = outcome_entries(machine.outcome)[-1]
    assert (last["event"], last["actors"]) == ("aborted", ["amartin"])
    assert not fake.state.logged_in

    again, _, _ = machine_for(tmp_path / "x", doc, fake)
    again.path = machine.path  # same file, same journal
    drive(again, script_for(doc, PINS))
    outcome = again.outcome
    assert outcome.run == 2 and outcome.status is Status.FINISHED
    assert (outcome.ceremony_id, outcome.restarts) == ("c-test.r2", "c-test")
    assert all(name.startswith("bundle-c-test.r2/") for name in outcome.outputs)
    events = [e["event"] for e in outcome_entries(outcome)]
    assert events[:2] == ["genesis", "recovery_reviewed"] and "run_started" not in events
    assert events.count("components_voided") == 1  # both components shown before the abort
