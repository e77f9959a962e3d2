"""The token is checked against the file before roll call; the record's signer is settled."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from ceremony.core import journal
from ceremony.core.ceremony_file import SIGNING_LABEL
from ceremony.engine.machine import Status
from ceremony.engine.requests import RequestKind
from ceremony.errors import MechanismNotSupportedError, RuleViolation
from ceremony.hsm.base import Capability
from ceremony.hsm.fake import SOFTHSM_2_6_1, FakeBackend, FakeToken
from tests.engine.helpers import drive, outcome_entries, script_for
from tests.engine.test_machine import PINS, _production, doc_for, machine_for

pytestmark = pytest.mark.usefixtures("cheap_scrypt")

BEFORE_ROLL_CALL = ["genesis", "airgap_checked", "step_failed", "aborted"]


def _events(machine: object) -> list[str]:
    return [e["event"] for e in outcome_entries(machine.outcome)]  # type: ignore[attr-defined]


def test_a_wrap_the_token_cannot_do_is_refused_before_roll_call(tmp_path: Path) -> None:
    doc = doc_for("generate-export")
    doc["keys"][0]["targets"][0]["algorithm"] = "RSAES_OAEP_SHA_256"  # SoftHSM 2.6.1 cannot
    machine, _, _ = machine_for(tmp_path, doc)
    with pytest.raises(MechanismNotSupportedError, match="OAEP SHA-256") as raised:
        machine.start()
    assert "wrap = 'software'" in (raised.value.hint or "")
    assert _events(machine) == BEFORE_ROLL_CALL  # nobody was called, no PIN was typed


def test_required_trusted_wrap_on_a_token_that_cannot_enforce_it_stops_before_roll_call(
    tmp_path: Path,
) -> None:
    doc = doc_for("generate-export")
    token = FakeToken(capabilities={**SOFTHSM_2_6_1, Capability.WRAP_WITH_TRUSTED: False})
    machine, _, _ = machine_for(tmp_path, doc, FakeBackend(token))
    with pytest.raises(MechanismNotSupportedError, match="trusted_wrap") as raised:
        machine.start()
    assert 'trusted_wrap = "not-enforced-by-token"' in (raised.value.hint or "")
    assert _events(machine) == BEFORE_ROLL_CALL


def test_a_file_that_says_the_token_does_not_enforce_it_wraps_without_the_so(
    tmp_path: Path,
) -> None:
    from ceremony.core.ceremony_file import TrustedWrap

    doc = doc_for("generate-export")
    doc["hsm"]["trusted_wrap"] = "not-enforced-by-token"
    token = FakeToken(
        capabilities={**SOFTHSM_2_6_1, Capability.WRAP_WITH_TRUSTED: False},
        trusted_wrap=TrustedWrap.NOT_ENFORCED,
    )
    machine, _, _ = machine_for(tmp_path, doc, FakeBackend(token))
    asked: list[str] = []
    script = script_for(doc, PINS)
    request = machine.start()
    while request is not None:
        asked.append(request.step)
        value, by = script.answer(request)
        request = machine.answer(value, by=by)
    assert machine.status is Status.FINISHED
    assert "hsm/so-pin" not in asked and "hsm/user-pin" in asked
    opened = next(e for e in outcome_entries(machine.outcome) if e["event"] == "hsm_opened")
    assert opened["data"]["trusted_wrap"] == "not-enforced-by-token"


def test_a_production_ceremony_refuses_a_token_without_a_signing_key_before_any_key(
    tmp_path: Path,
) -> None:
    doc = _production(tmp_path)
    del doc["signing"]  # no [signing]: the token must hold a production signing key already
    machine, _, _ = machine_for(tmp_path, doc)
    with pytest.raises(RuleViolation, match="holds no certificate labelled 'ceremony-signing'"):
        drive(machine, script_for(doc, PINS))
    events = _events(machine)
    assert "hsm_opened" in events and "key_generated" not in events


def test_a_production_ceremony_creates_its_signing_key_under_two_officers(
    tmp_path: Path,
) -> None:
    doc = _production(tmp_path)
    machine, _, fake = machine_for(tmp_path, doc)
    asked: list[tuple[str, RequestKind, tuple[str, ...]]] = []
    script = script_for(doc, PINS)
    request = machine.start()
    while request is not None:
        asked.append((request.step, request.kind, request.who.candidates))
        value, by = script.answer(request)
        request = machine.answer(value, by=by)
    assert machine.status is Status.FINISHED
    approvals = [a for a in asked if a[0].startswith("approve/create-signing-key/")]
    assert [a[0] for a in approvals] == [
        "approve/create-signing-key/ceremony-signing/1",
        "approve/create-signing-key/ceremony-signing/2",
    ]
    assert all(a[1] is RequestKind.APPROVAL for a in approvals)
    entries = outcome_entries(machine.outcome)
    names = [e["event"] for e in entries]
    made = entries[names.index("signing_identity")]
    assert names.index("signing_identity") < names.index("key_generated")
    assert made["data"]["created"] is True and len(made["actors"]) == 2
    der = fake.state.certificates[SIGNING_LABEL]
    subject = x509.load_der_x509_certificate(der).subject
    organizations = subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    assert [a.value for a in organizations] == ["Example Payments Ltd"]
    assert "fake-token" in subject.rfc4514_string()
    verified = journal.verify(machine.outcome.journal.read_bytes(), require_closed=True)  # type: ignore[union-attr]
    assert verified.entries[-1].event == "finished"


def test_a_rehearsal_certificate_never_signs_a_production_record(tmp_path: Path) -> None:
    from tests.engine.helpers import give_signing_identity

    doc = _production(tmp_path)
    del doc["signing"]
    fake = FakeBackend(FakeToken())
    give_signing_identity(fake, organization="ceremony (rehearsal)")
    machine, _, _ = machine_for(tmp_path, doc, fake)
    with pytest.raises(RuleViolation, match="is a rehearsal certificate"):
        drive(machine, script_for(doc, PINS))
    assert "key_generated" not in _events(machine)


def test_create_needs_two_security_officers_in_the_file(tmp_path: Path) -> None:
    from ceremony.core.ceremony_file import parse_ceremony_file
    from ceremony.core.rules import RuleBreach
    from tests.unit.ceremony_files import dumps

    doc = _production(tmp_path)
    doc["participants"] = [p for p in doc["participants"] if p["id"] != "bokafor"]
    with pytest.raises(RuleBreach) as raised:
        parse_ceremony_file(dumps(doc).encode())
    assert raised.value.path == "signing.create"
