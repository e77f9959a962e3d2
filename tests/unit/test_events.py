"""Every event of docs/journal-events.md has a typed builder, and every builder journals cleanly."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ceremony.core import events, journal, recovery_events, tr31
from ceremony.core.component import Scheme
from ceremony.core.journal import FileDigest, PublicId
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.core.payment_events import key_block_opened, key_block_written
from ceremony.core.providers.import_key import Fingerprint
from ceremony.core.rules import Operation, Participant, PassphraseRecord, Role
from ceremony.errors import JournalError

DOC = Path(__file__).resolve().parents[2] / "docs" / "journal-events.md"
NOW = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
KCV = CheckValue(KcvMethod.AES_CMAC, bytes.fromhex("0A1B2C"))
DIGEST = FileDigest.of(b"file")
PERSON = Participant("amartin", "Alice Martin", Role.SECURITY_OFFICER, "staff badge 0042")
RECORD = PassphraseRecord(bytes(16), bytes(32))


def every_event() -> list[events.Event]:
    attrs = {"sensitive": True, "id": PublicId("00ff" * 8), "check_value": journal.Text("0A1B2C")}
    return [
        events.genesis(
            ceremony_type="split-backup",
            site="room 3",
            purpose="test",
            rehearsal=True,
            tool_version="0.1.0",
            workstation="ws1",
            system_time=NOW,
        ),
        events.run_started(
            run=2, rehearsal=True, tool_version="0.1.0", workstation="ws1", system_time=NOW
        ),
        events.process_hardened(
            core_dumps_off=True,
            not_dumpable=True,
            memory_locked=False,
            memlock_soft=8 << 20,
            memlock_hard=None,
            vm_locked_kib=0,
            notes=["memory not locked: the memlock limit is 8192 KiB (hard unlimited)"],
            memory_lock_required=False,
        ),
        events.time_attested(
            system_time=NOW, attested_time="2025-06-01 09:31", attested_by=["amartin"]
        ),
        events.airgap_checked(
            isolated=False,
            findings=["eth0: interface is up"],
            interfaces=["lo", "eth0"],
            override_by=["amartin", "bokafor"],
        ),
        events.participant_present(PERSON, RECORD),
        events.hsm_opened(
            module="/usr/lib/softhsm/libsofthsm2.so",
            token_label="ceremony-rehearsal",
            serial="1b19a6771f0423ab",
            model="SoftHSM v2",
            manufacturer="SoftHSM project",
            firmware="2.6",
            library="Implementation of PKCS11 2.6",
            preflight=["can    generate random numbers (C_GenerateRandom)"],
            login="split-pin",
            officers=["amartin", "bokafor"],
            trusted_wrap="required",
        ),
        events.signing_identity(
            key_label="ceremony-signing",
            key_id="0123456789abcdef",
            token_label="NSS Certificate DB",
            serial="0000000000000000",
            model="NSS 3",
            certificate=b"a certificate's DER",
            subject="O=Example Payments Ltd,CN=ceremony record signing key",
            approved_by=["amartin", "bokafor"],
        ),
        events.random_source("PKCS#11 C_GenerateRandom on SoftHSM v2", "1b19a6771f0423ab"),
        events.approval(
            operation=Operation.SHOW_COMPONENT,
            key="zmk",
            index=3,
            approvers=["amartin", "cwright"],
            custodian="ebrown",
        ),
        events.key_generated(
            key="zmk", type="AES", bits=256, where="hsm", attributes=attrs, kcvs=[KCV]
        ),
        events.component_issued(
            key="zmk",
            split_set="c1",
            scheme=Scheme.SHAMIR,
            index=1,
            count=5,
            threshold=3,
            custodian="ebrown",
            backup="jlee",
            kcv=KCV,
            envelope="TE-1",
            confirmed=True,
        ),
        events.component_shown_again(
            key="zmk",
            split_set="c1",
            index=1,
            custodian="ebrown",
            approvers=["amartin", "cwright"],
            shown=2,
            backup="jlee",
        ),
        events.envelope_sealed(key="zmk", index=1, custodian="ebrown", envelope="TE-1"),
        events.envelope_checked(
            key="zmk", index=1, custodian="ebrown", envelope="TE-1", intact=True, checked_by="x"
        ),
        events.component_entered(key="zmk", split_set="c1", index=1, custodian="ebrown", kcv=KCV),
        events.key_combined(
            key="zmk", path="in-memory", kcv=KCV, matches_recorded=True, manual_cleartext=True
        ),
        key_block_opened(
            key="pek",
            type="TDES",
            bits=128,
            kbpk="zmk",
            header=tr31.Header("B", "P0", "T", "E"),
            block_sha256=FileDigest.of(b"block"),
            kcv=CheckValue(KcvMethod.TDES_ECB_ZERO, bytes.fromhex("0A1B2C")),
            role="PEK, PIN encryption key (TR-31 P0, mode B)",
        ),
        key_block_written(
            key="pek",
            label="pek-out",
            kbpk="zmk",
            header=tr31.Header("B", "P0", "T", "B"),
            name="bundle/tr31/pek/pek-out.tr31",
            sha256=FileDigest.of(b"block"),
            kcv=CheckValue(KcvMethod.TDES_ECB_ZERO, bytes.fromhex("0A1B2C")),
            kbpk_kcv=CheckValue(KcvMethod.TDES_ECB_ZERO, bytes.fromhex("3D4E5F")),
        ),
        events.key_imported(key="zmk", path="host memory", attributes=attrs, kcvs=[KCV]),
        events.key_exported(key="zmk", kcvs=[KCV]),
        events.import_key_confirmed(
            key="zmk",
            target="aws-eu",
            provider="aws",
            method="RSA_AES_KEY_WRAP_SHA_1",
            fingerprint=Fingerprint(bytes(32)),
            confirmed_by=["amartin", "bokafor"],
            pinned=False,
            valid_to=NOW,
        ),
        events.wrapped(
            key="zmk",
            target="aws-eu",
            provider="aws",
            method="RSA_AES_KEY_WRAP_SHA_1",
            where="hsm",
            mechanisms=["CKM_RSA_PKCS_OAEP", "CKM_AES_KEY_WRAP_PAD"],
            files=[("zmk/aws-eu/EncryptedKeyMaterial.bin", DIGEST)],
        ),
        events.output_written(name="bundle/REHEARSAL.txt", sha256=DIGEST, kind="bundle"),
        events.component_to_destroy(key="zmk", split_set="c0", index=2, custodian="fgarcia"),
        events.key_destroyed(key="zmk", id="00ff" * 8, kcvs=[KCV], left_by="c0"),
        recovery_events.recovery_reviewed(
            aborted=[{"ceremony": journal.Label("c0"), "interrupted": True}],
            keys=[{"key": journal.Label("zmk"), "id": PublicId("00ff" * 8), "kcvs": [KCV]}],
            components=[{"key": journal.Label("zmk"), "index": 1, "custodian": journal.Label("e")}],
            outputs=[{"name": journal.FilePath("bundle/zmk/aws/blob.bin"), "sha256": DIGEST}],
            destroyed=[],
            confirmed_by="amartin",
        ),
        recovery_events.orphan_key_absent(key="zmk", id="00ff" * 8, left_by="c0"),
        recovery_events.components_voided(
            key="zmk",
            split_set="c0",
            components=[{"index": 1, "custodian": journal.Label("ebrown")}],
            left_by="c0",
            approvers=["amartin", "cwright"],
        ),
        recovery_events.key_destroyed_earlier(
            key="zmk", id=None, kcvs=[KCV], ceremony="c0", seq=12
        ),
        recovery_events.key_destroyed_earlier(
            key="zmk", id="00ff", kcvs=[], ceremony="c0", seq=12, interrupted=True
        ),
        recovery_events.token_call(call=recovery_events.TokenCall.GENERATE, key="zmk"),
        events.key_checked(
            key="zmk", type="AES", bits=256, id="00ff" * 8, kcvs=[KCV], attributes=attrs
        ),
        recovery_events.token_call(
            call=recovery_events.TokenCall.DESTROY, key="zmk", id="00ff" * 8, kcvs=[KCV]
        ),
        events.registry_updated(
            name="registry/custodians.json", sha256=DIGEST, records=5, previous_sha256=DIGEST
        ),
        events.printer_checked(
            printer="lp0", device_uri="usb://HP/LaserJet?serial=1", kind="local"
        ),
        events.printer_override(printer="lp0", device_uri="ipp://printer", approvers=["a", "b"]),
        events.component_printed(
            key="zmk", index=1, custodian="ebrown", printer="lp0", job="lp0-7"
        ),
        events.attempt_failed(
            kind=events.AttemptKind.PIN,
            step="hsm/user-pin",
            participants=["amartin"],
            counter="user PIN",
            attempt=1,
            screen=journal.SecretScreen(),
            role="user",
            token_reports="a wrong PIN was typed since the last good login",
        ),
        events.step_failed(
            step="roll-call/amartin", error="the token went away", screen=journal.SecretScreen()
        ),
        events.aborted(reason="stopped by the operator"),
        events.finished(outputs=3, summary="done"),
    ]


def documented() -> set[str]:
    return set(re.findall(r"^\| `([a-z_]+)` \|", DOC.read_text("utf-8"), re.MULTILINE))


def test_every_documented_event_has_a_builder_and_back() -> None:
    built = {e.name for e in every_event()}
    assert built == documented()


def test_every_builder_makes_a_journal_entry() -> None:
    entry = journal.genesis("c1", DIGEST, NOW, data=every_event()[0].data)
    for event in every_event()[1:]:
        entry = journal.next_entry(entry, event.name, NOW, ["amartin"], event.data)
    assert entry.event == "finished"


def test_kcvs_are_flat_labelled_fields() -> None:
    event = events.component_entered(key="k", split_set="c", index=1, custodian="a", kcv=KCV)
    entry = journal.genesis("c1", DIGEST, NOW)
    line = journal.next_entry(entry, event.name, NOW, [], event.data)
    assert line.data["kcv_method"] == "AES-CMAC"
    assert line.data["kcv"] == "0A1B2C"


def test_subject_is_what_the_record_reads() -> None:
    assert events.subject("zmk", 3) == "zmk component 3"
    assert events.subject("zmk", target="aws") == "zmk target aws"


def test_a_secret_cannot_pass_as_a_label() -> None:
    with pytest.raises(JournalError):
        events.random_source("0123456789abcdef0123456789abcdef")


def test_a_device_uri_that_looks_like_key_material_is_withheld() -> None:
    uri = "usb://Brother/HL?serial=0123456789ABCDEF0123"
    event = events.printer_checked(printer="lp0", device_uri=uri, kind="local")
    entry = journal.next_entry(
        journal.genesis("c1", DIGEST, NOW), event.name, NOW, ["amartin"], event.data
    )
    assert entry.data["device_uri"] == "usb: (rest withheld: it looks like key material)"
    assert entry.data["scheme"] == "usb"
    assert "0123456789ABCDEF" not in str(entry.data)
    plain = events.printer_override(printer="lp0", device_uri="ipp://10.0.0.9/x", approvers=["a"])
    assert plain.data["device_uri"] == journal.Text("ipp://10.0.0.9/x")
