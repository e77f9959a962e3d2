"""Envelope serials checked against the record before an envelope is opened, and the signing
certificate journaled at HSM login (fake token)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from ceremony.core.registry import Holding, RecordEvent, parse_registry
from ceremony.engine.machine import Machine, Status
from ceremony.engine.requests import AnswerRefused, RequestKind
from ceremony.errors import RuleViolation
from ceremony.hsm.fake import FakeBackend, FakeSession, FakeToken
from tests.engine.helpers import (
    Capture,
    drive,
    outcome_entries,
    rehearsal_doc,
    script_for,
    services,
    write_ceremony,
    write_imports,
)
from tests.record.certs import software_identity

pytestmark = pytest.mark.usefixtures("cheap_scrypt")

PINS = {"user": "1234", "so": "5678"}
KEY = "zmk-prod"
CUSTODIANS = ("ebrown", "fgarcia", "gkim")
REGISTRY = "registry/custodians.json"


def _machine(folder: Path, doc: dict[str, Any], fake: FakeBackend) -> tuple[Machine, Capture]:
    delivery = Capture()
    write_imports(folder)
    path = write_ceremony(folder, doc, f"{doc['ceremony']['id']}.toml")
    return Machine(path, services=services(lambda c: fake, delivery)), delivery


def _split(folder: Path, fake: FakeBackend) -> tuple[dict[str, str], str]:
    """An XOR split into three sealed envelopes TE-1..3; the component texts and the key KCV."""
    doc = rehearsal_doc("split-backup", module="<fake>", label="fake-token", ceremony_id="c-split")
    key = doc["keys"][0]
    key.update(store_in_hsm=False, targets=[])
    key["split"] = {
        "scheme": "xor",
        "components": [
            {"custodian": c, "envelope": f"TE-{i}"} for i, c in enumerate(CUSTODIANS, start=1)
        ],
    }
    machine, delivery = _machine(folder, doc, fake)
    assert drive(machine, script_for(doc, PINS)) is None
    entries = outcome_entries(machine.outcome)
    sealed = [
        (e["data"]["index"], e["data"]["custodian"], e["data"]["envelope"])
        for e in entries
        if e["event"] == "envelope_sealed"
    ]
    assert sealed == [(i, c, f"TE-{i}") for i, c in enumerate(CUSTODIANS, start=1)]
    issued = [e["data"]["envelope"] for e in entries if e["event"] == "component_issued"]
    assert issued == ["TE-1", "TE-2", "TE-3"]
    generated = next(e for e in entries if e["event"] == "key_generated")
    check = generated["data"]["kcvs"][0]
    return delivery.texts(), f"{check['kcv_method']} {check['kcv']}"


def _rebuild_doc(recorded: str, envelopes: list[str | None]) -> dict[str, Any]:
    doc = rehearsal_doc(
        "reconstitute", module="<fake>", label="fake-token", ceremony_id="c-rebuild"
    )
    doc["ceremony"]["output"] = "out-rebuild"
    key = doc["keys"][0]
    key.update(kcv=recorded, targets=[], store_in_hsm=True)
    key["split"]["made_in"] = "c-split"
    components = []
    for custodian, envelope in zip(CUSTODIANS, envelopes, strict=True):
        component: dict[str, Any] = {"custodian": custodian}
        if envelope is not None:
            component["envelope"] = envelope
        components.append(component)
    key["split"]["components"] = components
    return doc


@pytest.fixture
def split(tmp_path: Path) -> tuple[FakeBackend, dict[str, str], str]:
    fake = FakeBackend(FakeToken())
    texts, recorded = _split(tmp_path, fake)
    return fake, texts, recorded


def test_the_registry_records_each_sealed_envelope(
    tmp_path: Path, split: tuple[FakeBackend, dict[str, str], str]
) -> None:
    registry = parse_registry((tmp_path / REGISTRY).read_bytes())
    issued = [r for r in registry.records if r.event is RecordEvent.ISSUED]
    assert [(r.person, r.component, r.envelope) for r in issued] == [
        ("ebrown", 1, "TE-1"),
        ("fgarcia", 2, "TE-2"),
        ("gkim", 3, "TE-3"),
    ]
    assert all(r.holding is Holding.CUSTODIAN for r in issued)
    assert registry.sealed_envelope(KEY, "c-split", 2) == "TE-2"


def test_matching_serials_pass_and_the_opened_envelopes_leave_the_registry(
    tmp_path: Path, split: tuple[FakeBackend, dict[str, str], str]
) -> None:
    fake, texts, recorded = split
    doc = _rebuild_doc(recorded, ["TE-1", "TE-2", "TE-3"])
    machine, _ = _machine(tmp_path, doc, fake)
    asked: list[tuple[str, RequestKind]] = []

    def seen(request: Any) -> None:
        if "/envelope" in request.step:
            asked.append((request.step, request.kind))
            # The serial on record is never in the prompt: the checker reads it off the envelope.
            if request.step.endswith("-serial"):
                assert "TE-" not in request.prompt

    assert drive(machine, script_for(doc, PINS, components=texts), on_request=seen) is None
    assert machine.outcome.status is Status.FINISHED
    assert asked[:2] == [
        (f"entry/{KEY}/1/envelope-serial", RequestKind.PUBLIC),
        (f"entry/{KEY}/1/envelope", RequestKind.CHOICE),
    ]
    checked = [
        e["data"] for e in outcome_entries(machine.outcome) if e["event"] == "envelope_checked"
    ]
    assert [(d["envelope"], d["serial_matches"], d["intact"]) for d in checked] == [
        ("TE-1", True, True),
        ("TE-2", True, True),
        ("TE-3", True, True),
    ]
    assert {d["recorded_in"] for d in checked} == {"registry"}
    entries = outcome_entries(machine.outcome)
    for index in (1, 2, 3):  # each envelope is checked before its component is entered
        at = {
            e["event"]: i
            for i, e in enumerate(entries)
            if e["event"] in ("envelope_checked", "component_entered")
            and e["data"]["index"] == index
        }
        assert at["envelope_checked"] < at["component_entered"]
    registry = parse_registry((tmp_path / REGISTRY).read_bytes())
    assert registry.sealed_envelope(KEY, "c-split", 1) is None  # opened at this entry


def test_a_mistyped_serial_is_refused_then_accepted(
    tmp_path: Path, split: tuple[FakeBackend, dict[str, str], str]
) -> None:
    fake, texts, recorded = split
    doc = _rebuild_doc(recorded, ["TE-1", "TE-2", "TE-3"])
    machine, _ = _machine(tmp_path, doc, fake)
    script = script_for(doc, PINS, components=texts)
    request = drive(machine, script, until=f"entry/{KEY}/2/envelope-serial")
    assert request is not None and request.who.candidates == ("amartin", "cwright")
    with pytest.raises(AnswerRefused, match="serial TE-3 is not the one recorded"):
        machine.answer("TE-3", by="cwright")
    current = machine.current
    assert current is not None and current.step == f"entry/{KEY}/2/envelope-serial"
    seal = machine.answer(" TE-2 ", by="cwright")
    # The one who read the serial judges the seal.
    assert seal is not None and seal.step == f"entry/{KEY}/2/envelope"
    assert seal.who.participant == "cwright"
    nxt = machine.answer("intact")
    while nxt is not None:
        value, by = script.answer(nxt)
        nxt = machine.answer(value, by=by)
    assert machine.outcome.status is Status.FINISHED
    checked = [e for e in outcome_entries(machine.outcome) if e["event"] == "envelope_checked"]
    assert checked[1]["data"]["envelope"] == "TE-2" and checked[1]["data"]["serial_matches"]
    assert checked[1]["data"]["checked_by"] == "cwright"
    assert checked[1]["actors"] == ["cwright", "fgarcia"]


def test_a_serial_that_never_matches_stops_before_the_envelope_is_opened(
    tmp_path: Path, split: tuple[FakeBackend, dict[str, str], str]
) -> None:
    fake, texts, recorded = split
    doc = _rebuild_doc(recorded, ["TE-1", "TE-2", "TE-3"])
    machine, _ = _machine(tmp_path, doc, fake)
    drive(machine, script_for(doc, PINS, components=texts), until=f"entry/{KEY}/1/envelope-serial")
    for _ in range(2):
        with pytest.raises(AnswerRefused):
            machine.answer("TE-9", by="amartin")
    with pytest.raises(RuleViolation, match="bears serial TE-9, not TE-1 as recorded: do not open"):
        machine.answer("TE-9", by="amartin")
    entries = outcome_entries(machine.outcome)
    events = [e["event"] for e in entries]
    assert events[-4:] == ["envelope_checked", "attempt_failed", "step_failed", "aborted"]
    assert events.count("attempt_failed") == 3
    assert entries[-3]["data"]["tries_left"] == 0
    data = entries[-4]["data"]
    assert data["envelope"] == "TE-9" and data["recorded"] == "TE-1"
    assert data["serial_matches"] is False and "intact" not in data
    assert "component_entered" not in events


@pytest.mark.parametrize(
    ("envelopes", "match"),
    [
        (
            ["TE-1", "TE-7", "TE-3"],
            r"lists envelope TE-7 for component 2 .* sealed in envelope TE-2",
        ),
        (["TE-1", "TE-2", None], r"component 3 .* sealed in envelope TE-3, but the ceremony file"),
    ],
)
def test_a_file_serial_the_registry_does_not_record_stops_before_any_entry(
    tmp_path: Path,
    split: tuple[FakeBackend, dict[str, str], str],
    envelopes: list[str | None],
    match: str,
) -> None:
    fake, texts, recorded = split
    doc = _rebuild_doc(recorded, envelopes)
    machine, _ = _machine(tmp_path, doc, fake)
    with pytest.raises(RuleViolation, match=match) as caught:
        drive(machine, script_for(doc, PINS, components=texts))
    assert "do not open the envelope" in caught.value.message
    events = [e["event"] for e in outcome_entries(machine.outcome)]
    assert "hsm_opened" in events and "envelope_checked" not in events
    assert "approval" not in events and events[-2:] == ["step_failed", "aborted"]


def test_without_a_registry_the_file_serial_is_the_record(
    tmp_path: Path, split: tuple[FakeBackend, dict[str, str], str]
) -> None:
    fake, texts, recorded = split
    doc = _rebuild_doc(recorded, ["TE-1", "TE-2", "TE-3"])
    del doc["ceremony"]["registry"]
    machine, _ = _machine(tmp_path, doc, fake)
    assert drive(machine, script_for(doc, PINS, components=texts)) is None
    checked = [
        e["data"] for e in outcome_entries(machine.outcome) if e["event"] == "envelope_checked"
    ]
    assert {d["recorded_in"] for d in checked} == {"ceremony-file"}


def _hsm_opened(machine: Machine, doc: dict[str, Any]) -> dict[str, Any]:
    script = script_for(doc, PINS)
    request = machine.start()
    while request is not None:
        opened = [e for e in outcome_entries(machine.outcome) if e["event"] == "hsm_opened"]
        if opened:
            return opened[0]
        value, by = script.answer(request)
        request = machine.answer(value, by=by)
    return next(e for e in outcome_entries(machine.outcome) if e["event"] == "hsm_opened")


def test_hsm_opened_journals_the_signing_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = rehearsal_doc("generate-export", module="<fake>", label="fake-token", ceremony_id="c-g")
    fake = FakeBackend(FakeToken())
    machine, _ = _machine(tmp_path, doc, fake)
    identity = software_identity("ceremony signing (rehearsal)")
    monkeypatch.setattr(
        FakeSession,
        "certificate",
        lambda self, label: identity.certificate_der if label == "ceremony-signing" else None,
    )
    opened = _hsm_opened(machine, doc)
    assert opened["data"]["signing_certificate_sha256"] == (
        hashlib.sha256(identity.certificate_der).hexdigest()
    )
    assert opened["data"]["signing_certificate_cn"] == "ceremony signing (rehearsal)"


def test_hsm_opened_records_a_token_without_a_signing_certificate(tmp_path: Path) -> None:
    doc = rehearsal_doc("generate-export", module="<fake>", label="fake-token", ceremony_id="c-g")
    machine, _ = _machine(tmp_path, doc, FakeBackend(FakeToken()))
    opened = _hsm_opened(machine, doc)
    assert opened["data"]["signing_certificate_sha256"] is None
    assert "signing_certificate_cn" not in opened["data"]
