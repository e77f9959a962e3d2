"""The journal read as the record and verify read it: approvals, split knowledge, envelopes."""

from __future__ import annotations

from ceremony.core import journal
from ceremony.core.journal import Label
from ceremony.record import model
from tests.record import journals


def _model(built: journals.Built) -> model.Model:
    return model.build(journal.verify(built.data))


def test_clean_ceremonies_break_no_rule() -> None:
    for make in journals.ALL.values():
        m = _model(make())
        assert m.failures == [], [f.detail for f in m.failures]


def test_subject_matching() -> None:
    assert model.subject_names("zmk-prod component 2", "zmk-prod", 2)
    assert model.subject_names("zmk-prod #2", "zmk-prod", 2)
    assert model.subject_names("share 2 of 3 of zmk-prod", "zmk-prod", 2)
    assert not model.subject_names("zmk-prod component 12", "zmk-prod", 2)
    assert not model.subject_names("zmk-prod-old component 2", "zmk-prod", 2)
    assert not model.subject_names("zmk-prod", "zmk-prod", 2)
    assert model.subject_names("zmk-prod", "zmk-prod", None)


def test_envelope_swapped_or_opened_before_entry() -> None:
    j = journals.Journal("2025-08-env", "re-split")
    j.opening(["so-alice", "so-bob", "w-carol", "kc-dan"])
    fields = {"key": Label("k1"), "index": 1, "custodian": Label("kc-dan")}
    j.add("envelope_sealed", ["kc-dan"], {**fields, "envelope": Label("TE-1")})
    j.add("envelope_checked", ["kc-dan"], {**fields, "envelope": Label("TE-9"), "intact": False})
    j.approval("enter-component", "k1 component 1", ["so-alice", "w-carol"], "kc-dan")
    j.add(
        "component_entered",
        ["kc-dan"],
        {
            **fields,
            "split_set": Label("2025-01-k1"),
            "kcv_method": Label("AES-CMAC"),
            "kcv": Label("ABCDEF"),
            "manual_cleartext": True,
        },
    )
    m = _model(j.finish("entered"))
    details = [f.detail for f in m.failures]
    assert any("NOT intact" in d and "is not TE-1" in d for d in details), details
    assert any("its envelope was found not intact" in d for d in details), details
    assert model.sealed_envelopes(journal.verify(j.bytes())) == {("k1", 1): ("TE-1", "kc-dan")}


def test_envelope_serial_checked_against_the_record() -> None:
    j = journals.Journal("2025-08-serial", "reconstitute")
    j.opening(["so-alice", "so-bob", "w-carol", "kc-dan", "kc-erin"])
    for index, custodian, typed, matches in (
        (1, "kc-dan", "TE-1", True),
        (2, "kc-erin", "TE-7", False),
    ):
        data = {
            "key": Label("k1"),
            "index": index,
            "custodian": Label(custodian),
            "envelope": Label(typed),
            "serial_matches": matches,
            "recorded": Label(f"TE-{index}"),
            "recorded_in": Label("registry"),
            "checked_by": Label("w-carol"),
        }
        if matches:
            data["intact"] = True
        j.add("envelope_checked", ["w-carol", custodian], data)
    m = _model(j.finish("stopped"))
    found = {
        f.detail.split(" (entry")[0]: (f.ok, f.detail) for f in m.findings if f.rule == "envelope"
    }
    ok, detail = found["envelope TE-1 of component 1 of key k1"]
    assert ok and "serial as recorded in the registry" in detail
    ok, detail = found["envelope TE-7 of component 2 of key k1"]
    assert not ok and "the serial read on it is not TE-2, the recorded one" in detail
    assert "NOT intact" not in detail


def test_software_wrap_and_memory_key_need_approval() -> None:
    j = journals.Journal("2025-08-soft", "generate-export")
    j.opening(["so-alice", "so-bob"])
    j.add(
        "wrapped",
        ["so-alice"],
        {
            "key": Label("k"),
            "target": Label("t"),
            "provider": Label("aws"),
            "method": Label("RSA_AES_KEY_WRAP_SHA_256"),
            "where": Label("software"),
            "mechanisms": [],
            "files": [],
        },
    )
    m = _model(j.finish("done"))
    (op,) = m.clear_operations
    assert op.manual_cleartext and not op.ok and "software-wrap" in op.reason
    assert any(s.manual_cleartext for s in m.steps if s.event == "wrapped")


def test_auditor_may_not_approve_and_unknown_people_fail() -> None:
    j = journals.Journal("2025-08-aud", "destroy")
    j.opening(["so-alice", "aud-gina"])
    j.approval("destroy", "k", ["so-alice", "aud-gina"])
    j.add("key_destroyed", ["so-alice"], {"key": Label("k"), "id": Label("01"), "kcvs": []})
    j.approval("destroy", "k2", ["so-alice", "mallory"])
    j.add("key_destroyed", ["so-alice"], {"key": Label("k2"), "id": Label("02"), "kcvs": []})
    m = _model(j.finish("done"))
    reasons = [op.reason for op in m.clear_operations]
    assert "has the role auditor and may not approve destroy" in reasons[0]
    assert "approver mallory was not present at roll call" in reasons[1]


def test_a_second_run_starts_over() -> None:
    j = journals.Journal("2025-08-runs", "destroy")
    j.opening(["so-alice", "so-bob", "w-carol"])
    j.approval("destroy", "k", ["so-alice", "w-carol"])
    j.entries.append(
        journal.aborted(
            j.entries[-1], journal.Text("power cut"), j.now + journals.timedelta(minutes=1)
        )
    )
    j.now += journals.timedelta(minutes=2)
    j.add("run_started", [], {"run": 2, "rehearsal": True})
    j.opening(["so-alice", "so-bob", "w-carol"])
    j.add("key_destroyed", ["so-alice"], {"key": Label("k"), "id": Label("01"), "kcvs": []})
    m = _model(j.finish("destroyed in run 2"))
    (op,) = m.clear_operations
    assert not op.ok and "no earlier approval" in op.reason  # run 1's approval does not count
    assert [f.rule for f in m.failures] == ["dual control"]  # the second roll call is no breach
    assert len(m.participants) == 3
    assert any(s.event == "run_started" and "run 2 started" in s.summary for s in m.steps)


def test_not_isolated_needs_an_override_in_production_only() -> None:
    rehearsal = journals.Journal("2025-08-gap", "destroy")
    rehearsal.add("airgap_checked", [], {"isolated": False, "findings": []})
    assert _model(rehearsal.finish("done")).failures == []
    production = journals.Journal("2025-08-gap-prod", "destroy", rehearsal=False)
    production.add("airgap_checked", [], {"isolated": False, "findings": []})
    (failure,) = _model(production.finish("done")).failures
    assert "needs two distinct security officers" in failure.detail


def test_a_printer_override_needs_two_security_officers() -> None:
    from ceremony.core import events

    j = journals.Journal("2025-08-print", "split-backup", rehearsal=False)
    j.opening(["so-alice", "so-bob", "w-carol"])
    uri = "ipp://10.0.0.9/ipp/print"
    for event in (
        events.printer_checked(printer="ceremony-usb", device_uri=uri, kind="network"),
        events.printer_override(printer="ceremony-usb", device_uri=uri, approvers=["so-alice"]),
        events.printer_override(
            printer="ceremony-usb", device_uri=uri, approvers=["so-alice", "w-carol"]
        ),
        events.printer_override(
            printer="ceremony-usb", device_uri=uri, approvers=["so-alice", "so-bob"]
        ),
    ):
        j.add(event.name, [], event.data)
    m = _model(j.finish("done"))
    overrides = [f for f in m.findings if "network printer override" in f.detail]
    assert [f.ok for f in overrides] == [False, False, True]
    assert all(f.rule == "dual control" for f in overrides)
    assert [seq for seq, _, _ in m.printers] == [e.seq for e in j.entries[-5:-1]]
    steps = [s.summary for s in m.steps if s.event.startswith("printer_")]
    assert steps[0] == f"printer ceremony-usb checked: network ({uri})"
