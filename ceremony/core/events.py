"""Typed builders for every journal event of docs/journal-events.md; nothing else writes event data.

Each builder returns an ``Event``: the event name and its data as journal-typed values
(``Label``, ``Text``, ``CheckValue``, ``FileDigest``, ...), so a secret cannot be passed where
the journal expects a label. The record and ``ceremony verify`` read these names and fields.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType

from ceremony.core.component import Scheme
from ceremony.core.event_base import Event as Event  # re-exported: callers type with events.Event
from ceremony.core.event_base import labels as _labels
from ceremony.core.event_base import optional as _optional
from ceremony.core.journal import (
    ABORTED,
    FINISHED,
    FileDigest,
    FilePath,
    JournalValue,
    Label,
    Message,
    PublicId,
    SecretScreen,
    Text,
    looks_secret,
)
from ceremony.core.kcv import CheckValue
from ceremony.core.providers.import_key import Fingerprint
from ceremony.core.rules import Operation, Participant, PassphraseRecord
from ceremony.errors import JournalError

_SCHEME = re.compile(r"[a-z][a-z0-9.-]{0,19}")


def _kcv(value: CheckValue) -> dict[str, JournalValue]:
    # The flat pair the record reads: method and hex (3-5 bytes, never a key-length run).
    return {"kcv_method": Label(value.method.label), "kcv": Text(value.hex)}


# ---- opening ----------------------------------------------------------------------------------


def genesis(
    *,
    ceremony_type: str,
    site: str,
    purpose: str,
    rehearsal: bool,
    tool_version: str,
    workstation: str,
    system_time: datetime,
) -> Event:
    """Entry 0's data; ``journal.genesis`` adds ``format`` and ``ceremony_file_sha256``."""
    return Event(
        "genesis",
        {
            "ceremony_type": Label(ceremony_type),
            "site": Text(site),
            "purpose": Text(purpose),
            "rehearsal": rehearsal,
            "tool_version": Text(tool_version),
            "workstation": Text(workstation),
            "system_time": system_time,
        },
    )


def run_started(
    *, run: int, rehearsal: bool, tool_version: str, workstation: str, system_time: datetime
) -> Event:
    """A new run after an aborted one (run 2, 3, ...): the ceremony starts again from its start."""
    return Event(
        "run_started",
        {
            "run": run,
            "rehearsal": rehearsal,
            "tool_version": Text(tool_version),
            "workstation": Text(workstation),
            "system_time": system_time,
        },
    )


def process_hardened(
    *,
    core_dumps_off: bool,
    not_dumpable: bool,
    memory_locked: bool,
    memlock_soft: int | None,
    memlock_hard: int | None,
    vm_locked_kib: int | None,
    notes: Sequence[str],
    memory_lock_required: bool,
) -> Event:
    """What the process hardening did at start, before any secret (None: unlimited, unread)."""
    return Event(
        "process_hardened",
        {
            "core_dumps_off": core_dumps_off,
            "not_dumpable": not_dumpable,
            "memory_locked": memory_locked,
            "memlock_soft": memlock_soft,
            "memlock_hard": memlock_hard,
            "vm_locked_kib": vm_locked_kib,
            "notes": [Text(n) for n in notes],
            "memory_lock_required": memory_lock_required,
        },
    )


def time_attested(
    *, system_time: datetime, attested_time: str, attested_by: Sequence[str]
) -> Event:
    return Event(
        "time_attested",
        {
            "system_time": system_time,
            "attested_time": Text(attested_time),
            "attested_by": _labels(attested_by),
        },
    )


def airgap_checked(
    *,
    isolated: bool,
    findings: Sequence[str],
    interfaces: Sequence[str],
    override_by: Sequence[str] | None = None,
) -> Event:
    data: dict[str, JournalValue] = {
        "isolated": isolated,
        "findings": [Text(f) for f in findings],
        "interfaces": [Text(i) for i in interfaces],
    }
    if override_by is not None:
        data["override_by"] = _labels(override_by)
    return Event("airgap_checked", data)


def participant_present(person: Participant, passphrase: PassphraseRecord) -> Event:
    return Event(
        "participant_present",
        {
            "participant": Label(person.id),
            "name": Text(person.name),
            "role": Label(person.role.value),
            "id_reference": Text(person.id_reference),
            "passphrase": passphrase,
        },
    )


def hsm_opened(
    *,
    module: str,
    token_label: str,
    serial: str,
    model: str,
    manufacturer: str,
    firmware: str,
    library: str,
    preflight: Sequence[str],
    login: str,
    officers: Sequence[str],
    signing_certificate: bytes | None = None,
    signing_certificate_cn: str | None = None,
    trusted_wrap: str | None = None,
) -> Event:
    """The token opened; ``signing_certificate`` is the DER of the certificate that will sign
    the record (None: the token holds none), journaled as its SHA-256 so that ``verify`` can
    tell the record was signed by this ceremony's key without a trust anchor."""
    data: dict[str, JournalValue] = {
        "module": Text(module),
        "token_label": Text(token_label),
        "serial": PublicId(serial),
        "model": Text(model),
        "manufacturer": Text(manufacturer),
        "firmware": Text(firmware),
        "library": Text(library),
        "preflight": [Text(line) for line in preflight],
        "login": Label(login),
        "officers": _labels(officers),
        "signing_certificate_sha256": (
            FileDigest.of(signing_certificate) if signing_certificate is not None else None
        ),
    }
    cn = _safe_text(signing_certificate_cn)
    policy = Label(trusted_wrap) if trusted_wrap is not None else None
    return Event("hsm_opened", _optional(data, signing_certificate_cn=cn, trusted_wrap=policy))


def signing_identity(
    *,
    key_label: str,
    key_id: str,
    token_label: str,
    serial: str,
    model: str,
    certificate: bytes,
    subject: str,
    approved_by: Sequence[str] = (),
) -> Event:
    """The key that will sign the record, found or created (under two approvals) at login.

    ``verify`` ties the record's signer to this certificate's SHA-256 without a trust anchor."""
    return Event(
        "signing_identity",
        {
            "key_label": Label(key_label),
            "key_id": PublicId(key_id),
            "token_label": Text(token_label),
            "serial": PublicId(serial),
            "model": Text(model),
            "signing_certificate_sha256": FileDigest.of(certificate),
            "subject": _safe_text(subject) or Text("(not journal text)"),
            "created": bool(approved_by),
            "approved_by": _labels(approved_by),
        },
    )


def _safe_text(value: str | None) -> Text | None:
    # A certificate's CN comes from the token: leave it out rather than stop the ceremony if it
    # is not journal text (too long, control characters, hex-like).
    if value is None:
        return None
    try:
        return Text(value)
    except JournalError:
        return None


def random_source(source: str, serial: str | None = None) -> Event:
    """Where component and coefficient randomness comes from; the token serial apart (hex-like)."""
    data: dict[str, JournalValue] = {"source": Text(source)}
    return Event("random_source", _optional(data, serial=PublicId(serial) if serial else None))


# ---- dual control -----------------------------------------------------------------------------


def subject(key: str, index: int | None = None, target: str | None = None) -> str:
    """What an approval covers, as the record reads it: ``zmk component 3``, ``zmk target aws``."""
    text = key
    if index is not None:
        text += f" component {index}"
    if target is not None:
        text += f" target {target}"
    return text


def approval(
    *,
    operation: Operation,
    key: str,
    approvers: Sequence[str],
    index: int | None = None,
    target: str | None = None,
    custodian: str | None = None,
) -> Event:
    data: dict[str, JournalValue] = {
        "operation": Label(operation.value),
        "subject": Text(subject(key, index, target)),
        "key": Label(key),
        "approvers": _labels(approvers),
    }
    return Event(
        "approval",
        _optional(
            data,
            index=index,
            target=Label(target) if target is not None else None,
            custodian=Label(custodian) if custodian is not None else None,
        ),
    )


# ---- keys -------------------------------------------------------------------------------------


def key_generated(
    *,
    key: str,
    type: str,
    where: str,
    attributes: Mapping[str, JournalValue],
    kcvs: Sequence[CheckValue],
    bits: int | None = None,
    curve: str | None = None,
    attributes_before: Mapping[str, JournalValue] | None = None,
    public_key_sha256: FileDigest | None = None,
    kcv_sources: Sequence[tuple[str, str]] = (),
    role: str | None = None,
) -> Event:
    data: dict[str, JournalValue] = {
        "key": Label(key),
        "type": Label(type),
        "where": Label(where),
        "attributes": attributes,
        "kcvs": list(kcvs),
    }
    return Event(
        "key_generated",
        _optional(
            data,
            bits=bits,
            curve=Label(curve) if curve is not None else None,
            attributes_before=attributes_before,
            public_key_sha256=public_key_sha256,
            kcv_sources=_sources(kcv_sources),
            role=_role(role),
        ),
    )


def _role(role: str | None) -> Text | None:
    """A payment key's role as the record prints it (``ZMK, ... (TR-31 K0, mode B)``)."""
    return Text(role) if role is not None else None


def _sources(sources: Sequence[tuple[str, str]]) -> list[JournalValue] | None:
    """How the token computed each check value (e.g. CMAC from two ECB operations where the
    token has no CKM_AES_CMAC), ``{kcv_method, source}``; None when the token said nothing."""
    return [{"kcv_method": Text(m), "source": Text(how)} for m, how in sources] or None


def key_imported(
    *,
    key: str,
    path: str,
    attributes: Mapping[str, JournalValue],
    kcvs: Sequence[CheckValue],
    kcv_sources: Sequence[tuple[str, str]] = (),
) -> Event:
    data: dict[str, JournalValue] = {
        "key": Label(key),
        "path": Text(path),
        "attributes": attributes,
        "kcvs": list(kcvs),
    }
    return Event("key_imported", _optional(data, kcv_sources=_sources(kcv_sources)))


def key_exported(*, key: str, kcvs: Sequence[CheckValue]) -> Event:
    return Event("key_exported", {"key": Label(key), "kcvs": list(kcvs), "manual_cleartext": True})


def key_combined(
    *,
    key: str,
    path: str,
    kcv: CheckValue,
    matches_recorded: bool,
    manual_cleartext: bool,
    role: str | None = None,
    type: str | None = None,
    bits: int | None = None,
) -> Event:
    data: dict[str, JournalValue] = {
        "key": Label(key),
        "path": Label(path),
        **_kcv(kcv),
        "matches_recorded": matches_recorded,
        "manual_cleartext": manual_cleartext,
    }
    return Event(
        "key_combined",
        _optional(
            data, role=_role(role), type=Label(type) if type is not None else None, bits=bits
        ),
    )


def key_checked(
    *,
    key: str,
    type: str,
    bits: int | None,
    id: str,
    kcvs: Sequence[CheckValue],
    attributes: Mapping[str, JournalValue],
    role: str | None = None,
) -> Event:
    """Re-wrap: the token's key of this label, whose KCV matched the recorded one."""
    data: dict[str, JournalValue] = {
        "key": Label(key),
        "type": Label(type),
        "id": PublicId(id),
        "kcvs": list(kcvs),
        "attributes": attributes,
    }
    return Event("key_checked", _optional(data, bits=bits, role=_role(role)))


def key_destroyed(
    *,
    key: str,
    id: str,
    kcvs: Sequence[CheckValue],
    left_by: str | None = None,
    role: str | None = None,
) -> Event:
    """A key destroyed on the token; ``left_by`` names the interrupted ceremony that made it."""
    data: dict[str, JournalValue] = {"key": Label(key), "id": PublicId(id), "kcvs": list(kcvs)}
    return Event(
        "key_destroyed",
        _optional(data, left_by=Label(left_by) if left_by is not None else None, role=_role(role)),
    )


# ---- components -------------------------------------------------------------------------------


def component_issued(
    *,
    key: str,
    split_set: str,
    scheme: Scheme,
    index: int,
    count: int,
    threshold: int,
    custodian: str,
    kcv: CheckValue,
    confirmed: bool,
    backup: str | None = None,
    envelope: str | None = None,
    delivery: str = "screen",
) -> Event:
    data: dict[str, JournalValue] = {
        "key": Label(key),
        "split_set": Label(split_set),
        "scheme": Label(scheme.value.lower()),
        "index": index,
        "count": count,
        "threshold": threshold,
        "custodian": Label(custodian),
        **_kcv(kcv),
        "confirmed": confirmed,
        "delivery": Label(delivery),
        "manual_cleartext": True,
    }
    return Event(
        "component_issued",
        _optional(
            data,
            backup=Label(backup) if backup is not None else None,
            envelope=Text(envelope) if envelope is not None else None,
        ),
    )


def component_shown_again(
    *,
    key: str,
    split_set: str,
    index: int,
    custodian: str,
    approvers: Sequence[str],
    shown: int,
    backup: str | None = None,
) -> Event:
    """A component shown to its custodian once more, after two approvals; never its value."""
    data: dict[str, JournalValue] = {
        "key": Label(key),
        "split_set": Label(split_set),
        "index": index,
        "custodian": Label(custodian),
        "approvers": _labels(approvers),
        "shown": shown,
        "manual_cleartext": True,
    }
    return Event(
        "component_shown_again",
        _optional(data, backup=Label(backup) if backup is not None else None),
    )


def envelope_sealed(*, key: str, index: int, custodian: str, envelope: str) -> Event:
    return Event(
        "envelope_sealed",
        {
            "key": Label(key),
            "index": index,
            "custodian": Label(custodian),
            "envelope": Text(envelope),
        },
    )


def envelope_checked(
    *,
    key: str,
    index: int,
    custodian: str,
    envelope: str,
    checked_by: str,
    intact: bool | None,
    serial_matches: bool = True,
    recorded: str | None = None,
    recorded_in: str | None = None,
) -> Event:
    """An envelope looked at before opening: ``envelope`` is the serial the checker typed.

    ``recorded`` is the serial on record and ``recorded_in`` where it was found (``registry``
    or ``ceremony-file``); ``intact`` is None when the seal was never judged because the serial
    did not match.
    """
    data: dict[str, JournalValue] = {
        "key": Label(key),
        "index": index,
        "custodian": Label(custodian),
        "envelope": Text(envelope),
        "serial_matches": serial_matches,
        "checked_by": Label(checked_by),
    }
    return Event(
        "envelope_checked",
        _optional(
            data,
            intact=intact,
            recorded=Text(recorded) if recorded is not None else None,
            recorded_in=Label(recorded_in) if recorded_in is not None else None,
        ),
    )


def component_entered(
    *, key: str, split_set: str, index: int, custodian: str, kcv: CheckValue
) -> Event:
    return Event(
        "component_entered",
        {
            "key": Label(key),
            "split_set": Label(split_set),
            "index": index,
            "custodian": Label(custodian),
            **_kcv(kcv),
            "manual_cleartext": True,
        },
    )


def component_to_destroy(
    *, key: str, split_set: str, index: int, custodian: str, envelope: str | None = None
) -> Event:
    data: dict[str, JournalValue] = {
        "key": Label(key),
        "split_set": Label(split_set),
        "index": index,
        "custodian": Label(custodian),
    }
    return Event(
        "component_to_destroy",
        _optional(data, envelope=Text(envelope) if envelope is not None else None),
    )


# ---- targets and outputs ----------------------------------------------------------------------


def import_key_confirmed(
    *,
    key: str,
    target: str,
    provider: str,
    method: str,
    fingerprint: Fingerprint,
    confirmed_by: Sequence[str],
    pinned: bool,
    valid_to: datetime | None = None,
    wrapping_key: Fingerprint | None = None,
) -> Event:
    """``fingerprint`` is what the officers confirmed: the wrapping key's SPKI, or, when the
    provider certifies its wrapping key (``wrapping_key`` then given), the root CA certificate."""
    data: dict[str, JournalValue] = {
        "key": Label(key),
        "target": Label(target),
        "provider": Label(provider),
        "method": Label(method),
        "fingerprint": fingerprint,
        "confirmed_by": _labels(confirmed_by),
        "pinned": pinned,
    }
    fingerprint_of = Label(ROOT_CA_CERTIFICATE) if wrapping_key is not None else None
    return Event(
        "import_key_confirmed",
        _optional(
            data,
            valid_to=valid_to,
            fingerprint_of=fingerprint_of,
            wrapping_key_fingerprint=wrapping_key,
        ),
    )


# import_key_confirmed's fingerprint_of when the root CA certificate was confirmed.
ROOT_CA_CERTIFICATE = "root-ca-certificate"


def wrapped(
    *,
    key: str,
    target: str,
    provider: str,
    method: str,
    where: str,
    mechanisms: Sequence[str],
    files: Sequence[tuple[str, FileDigest]],
) -> Event:
    return Event(
        "wrapped",
        {
            "key": Label(key),
            "target": Label(target),
            "provider": Label(provider),
            "method": Label(method),
            "where": Label(where),
            "mechanisms": [Text(m) for m in mechanisms],
            "files": [{"name": FilePath(name), "sha256": digest} for name, digest in files],
            "manual_cleartext": where == "software",
        },
    )


def output_written(*, name: str, sha256: FileDigest, kind: str) -> Event:
    return Event("output_written", {"name": Text(name), "sha256": sha256, "kind": Label(kind)})


def registry_updated(
    *, name: str, sha256: FileDigest, records: int, previous_sha256: FileDigest | None = None
) -> Event:
    data: dict[str, JournalValue] = {"name": FilePath(name), "sha256": sha256, "records": records}
    return Event("registry_updated", _optional(data, previous_sha256=previous_sha256))


def printer_device(device_uri: str) -> Text:
    """A CUPS device URI as journaled; one that looks like key material is withheld.

    A USB URI carries the printer's serial number, which may be a long hex run that the journal
    refuses as key-like; the scheme is then kept so the record still says which kind it was.
    """
    scheme = device_uri.partition(":")[0]
    if looks_secret(device_uri) or len(device_uri) > 300 or not device_uri.isprintable():
        safe = scheme if scheme.isalnum() and len(scheme) <= 20 else "unknown"
        return Text(f"{safe}: (rest withheld: it looks like key material)")
    return Text(device_uri)


def printer_checked(*, printer: str, device_uri: str, kind: str) -> Event:
    """The printer's device URI read from CUPS before any form is printed (local/network/disk)."""
    scheme = device_uri.partition(":")[0].strip().lower()
    return Event(
        "printer_checked",
        {
            "printer": Text(printer),
            "device_uri": printer_device(device_uri),
            "scheme": Label(scheme) if _SCHEME.fullmatch(scheme) else Label("unknown"),
            "kind": Label(kind),
        },
    )


def printer_override(*, printer: str, device_uri: str, approvers: Sequence[str]) -> Event:
    return Event(
        "printer_override",
        {
            "printer": Text(printer),
            "device_uri": printer_device(device_uri),
            "approvers": _labels(approvers),
        },
    )


def component_printed(*, key: str, index: int, custodian: str, printer: str, job: str) -> Event:
    """A component form handed to CUPS from memory; the component itself is never journaled."""
    return Event(
        "component_printed",
        {
            "key": Label(key),
            "index": index,
            "custodian": Label(custodian),
            "printer": Text(printer),
            "job": Text(job),
        },
    )


# ---- failed attempts ----------------------------------------------------------------------------


class AttemptKind(enum.Enum):
    """What was tried and failed; the value is the journal's ``kind``."""

    PIN = "pin"  # a wrong PIN (per role: so or user)
    PASSPHRASE = "passphrase"  # noqa: S105 - a wrong approval passphrase, per person
    PASSPHRASE_MISMATCH = "passphrase-mismatch"  # noqa: S105 - roll call: the two differ
    KCV = "kcv"  # a KCV typed back or typed from a form that does not match, per component
    ENVELOPE_SERIAL = "envelope-serial"  # a serial read off an envelope that is not the one
    FINGERPRINT = "fingerprint"  # an import-key fingerprint refused against the cloud console


# The tool's own limits, whatever a token reports: at the limit the step fails and the run
# stops. ``ceremony verify`` checks each journal against this table.
TRY_LIMITS: Mapping[AttemptKind, int] = MappingProxyType(
    {
        AttemptKind.PIN: 3,
        AttemptKind.PASSPHRASE: 3,
        AttemptKind.PASSPHRASE_MISMATCH: 3,
        AttemptKind.KCV: 3,
        AttemptKind.ENVELOPE_SERIAL: 3,
        AttemptKind.FINGERPRINT: 1,
    }
)


def attempt_failed(
    *,
    kind: AttemptKind,
    step: str,
    participants: Sequence[str],
    counter: str,
    attempt: int,
    screen: SecretScreen,
    role: str | None = None,
    token_reports: str | None = None,
) -> Event:
    """One failed attempt: who claimed it, at which step, how many tries are left.

    ``counter`` names what the limit counts (``user PIN``, ``passphrase of amartin``, a
    component's stage); ``attempt`` is the how-manieth failure on it. Never the value typed,
    nor any prefix, hash or length of it.
    """
    limit = TRY_LIMITS[kind]
    if not 1 <= attempt <= limit:
        raise JournalError(f"attempt {attempt} is beyond the limit of {limit}", hint="bug")
    data: dict[str, JournalValue] = {
        "kind": Label(kind.value),
        "step": Message(step, screen),
        "participants": _labels(participants),
        "counter": Message(counter, screen),
        "attempt": attempt,
        "limit": limit,
        "tries_left": limit - attempt,
    }
    return Event(
        "attempt_failed",
        _optional(
            data,
            role=Label(role) if role is not None else None,
            token_reports=Text(token_reports) if token_reports is not None else None,
        ),
    )


# ---- closing ----------------------------------------------------------------------------------


def step_failed(*, step: str, error: str, screen: SecretScreen, typed: Sequence[str] = ()) -> Event:
    """The step that failed and its error, screened against what the run holds and was typed."""
    return Event(
        "step_failed",
        {"step": Message.screened(step, screen), "error": Message.screened(error, screen, typed)},
    )


def finished(*, outputs: int, summary: str) -> Event:
    return Event(FINISHED, {"outputs": outputs, "summary": Text(summary)})


def aborted(*, reason: str) -> Event:
    """An operator's abort; crash recovery adds ``torn_sha256``/``torn_bytes`` itself."""
    return Event(ABORTED, {"reason": Text(reason)})
