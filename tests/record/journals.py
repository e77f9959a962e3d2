"""Realistic journals for each ceremony type, built with ceremony.core.journal as the engine would.

The event names and fields follow docs/journal-events.md. Keys and components are real (a fixed
seed), so tests can scan every PDF for them; ``Built.secrets`` lists the bytes that must never
appear in a record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ceremony.core import encoding, journal, kcv, rng, shamir, xor
from ceremony.core.component import Component, KeyAlgorithm, KeyIdentity
from ceremony.core.journal import Entry, FileDigest, JournalValue, Label, Text
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.core.providers.import_key import Fingerprint
from ceremony.core.rules import PassphraseRecord
from ceremony.core.secret import Secret
from ceremony.hsm.base import Capability, CapabilityStatus

T0 = datetime(2025, 6, 2, 8, 55, tzinfo=UTC)
TOOL_VERSION = "0.1.0"

PEOPLE: dict[str, tuple[str, str, str]] = {
    "so-alice": ("Alice Martin", "security-officer", "badge 0042"),
    "so-bob": ("Bob Lee", "security-officer", "badge 0077"),
    "w-carol": ("Carol Diaz", "witness", "passport X1234"),
    "kc-dan": ("Dan Okafor", "key-custodian", "badge 0101"),
    "kc-erin": ("Erin Novak", "key-custodian", "badge 0102"),
    "kc-frank": ("Frank Zhou", "key-custodian", "badge 0103"),
    "aud-gina": ("Gina Rossi", "auditor", "QSA card 5521"),
}


@dataclass
class Built:
    """A journal's bytes, what was written beside it, and the secrets it must never show."""

    ceremony_id: str
    data: bytes
    rehearsal: bool
    outputs: dict[str, bytes] = field(default_factory=dict)
    secrets: list[bytes] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)

    @property
    def entries(self) -> list[bytes]:
        return self.data.splitlines(keepends=True)


def _seeded(seed: bytes) -> Iterator[bytes]:
    counter = 0
    while True:
        counter += 1
        yield hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()


def seeded_source(seed: bytes) -> rng.RandomBytes:
    blocks = _seeded(seed)
    buffer = bytearray()

    def source(length: int) -> bytes:
        while len(buffer) < length:
            buffer.extend(next(blocks))
        out = bytes(buffer[:length])
        del buffer[:length]
        return out

    return source


def _passphrase(person: str) -> PassphraseRecord:
    digest = hashlib.sha256(b"pass:" + person.encode()).digest()
    return PassphraseRecord(digest[:16], digest)


class Journal:
    """Appends entries one minute apart, as the engine's store would."""

    def __init__(
        self,
        ceremony_id: str,
        ceremony_type: str,
        *,
        rehearsal: bool = True,
        site: str = "Vault room B, Frankfurt",
        purpose: str = "rehearsal of the yearly key ceremony",
        start: datetime = T0,
    ) -> None:
        self.now = start
        self.rehearsal = rehearsal
        self.outputs: dict[str, bytes] = {}
        cfile = FileDigest.of(f"[ceremony]\nid = '{ceremony_id}'\n".encode())
        self.entries: list[Entry] = [
            journal.genesis(
                ceremony_id,
                cfile,
                self.now,
                data={
                    "ceremony_type": Label(ceremony_type),
                    "site": Text(site),
                    "purpose": Text(purpose),
                    "rehearsal": rehearsal,
                    "tool_version": Label(TOOL_VERSION),
                    "workstation": Label("ceremony-ws-01"),
                    "system_time": self.now,
                },
            )
        ]

    @property
    def ceremony_id(self) -> str:
        return self.entries[0].ceremony

    def add(
        self,
        event: str,
        actors: Sequence[str] = (),
        data: Mapping[str, JournalValue] | None = None,
    ) -> Entry:
        self.now += timedelta(minutes=1, seconds=7)
        fields = dict(data or {})
        # docs/journal-events.md names the flag ``manual_cleartext``, a field name that
        # ceremony.core.journal refuses today ("cleartext" is on its deny list): add it after
        # the typed check and hash the entry again, exactly as the canonical form defines.
        flag = fields.pop("manual_cleartext", None)
        entry = journal.next_entry(self.entries[-1], event, self.now, actors, fields)
        if flag is not None:
            assert isinstance(flag, bool)
            entry = replace(entry, data={**entry.data, "manual_cleartext": flag})
            entry = replace(entry, hash=hashlib.sha256(journal.canonical(entry.body())).hexdigest())
        self.entries.append(entry)
        return entry

    def bytes(self) -> bytes:
        return b"".join(e.line() for e in self.entries)

    # ---- common steps ------------------------------------------------------------------

    def opening(
        self,
        people: Sequence[str],
        *,
        isolated: bool = True,
        token: str | None = None,
        signer: bytes | None = None,
        no_signer: bool = False,
    ) -> None:
        """Clock, air gap, roll call, HSM login; ``signer``: the signing certificate (DER) the
        token held at login, journaled as the engine does (left out: an older journal;
        ``no_signer``: journaled as null, a token without one)."""
        officers = [p for p in people if PEOPLE[p][1] == "security-officer"][:2]
        attested = self.now + timedelta(seconds=20)
        self.add(
            "time_attested",
            officers,
            {
                "system_time": self.now,
                "attested_time": attested,
                "attested_by": [Label(o) for o in officers],
            },
        )
        findings = (
            ["no network interface is up (lo only)", "wireless and bluetooth are blocked"]
            if isolated
            else ["interface eth0 is up with an address"]
        )
        data: dict[str, JournalValue] = {
            "isolated": isolated,
            "findings": [Text(f) for f in findings],
        }
        if not isolated:
            data["override_by"] = [Label(o) for o in officers]
        self.add("airgap_checked", officers, data)
        for person in people:
            name, role, ref = PEOPLE[person]
            self.add(
                "participant_present",
                [person],
                {
                    "participant": Label(person),
                    "name": Text(name),
                    "role": Label(role),
                    "id_reference": Text(ref),
                    "passphrase": _passphrase(person),
                },
            )
        token = token or ("ceremony-rehearsal" if self.rehearsal else "vault-hsm-a")
        self.add(
            "hsm_opened",
            officers,
            {
                "module": Text("/usr/lib/softhsm/libsofthsm2.so"),
                "token_label": Label(token),
                "serial": Label("0x5e2a91c4"),
                "model": Text("SoftHSM v2"),
                "manufacturer": Text("SoftHSM project"),
                "firmware": Label("2.6"),
                "library": Text("Implementation of PKCS11 2.6.1"),
                # The lines exactly as the engine journals them (Preflight.lines()).
                "preflight": [
                    Text(line.line())
                    for line in (
                        CapabilityStatus(Capability.KCV_AES_CMAC, True, "CKM_AES_CMAC"),
                        CapabilityStatus(Capability.OAEP_SHA1, True, "CKM_RSA_PKCS_OAEP"),
                        CapabilityStatus(Capability.AES_KWP, True, "CKM_AES_KEY_WRAP_PAD"),
                        CapabilityStatus(
                            Capability.OAEP_SHA256, False, detail="the probe was refused"
                        ),
                        CapabilityStatus(Capability.RSA_AES_KEY_WRAP_SHA1, False),
                    )
                ],
                "login": Label("split-pin"),
                "officers": [Label(o) for o in officers],
                **(
                    {"signing_certificate_sha256": FileDigest.of(signer)}
                    if signer is not None
                    else {"signing_certificate_sha256": None}
                    if no_signer
                    else {}
                ),
            },
        )
        self.add(
            "random_source",
            officers,
            {"source": Text("PKCS#11 C_GenerateRandom on SoftHSM v2 serial 0x5e2a91c4")},
        )

    def approval(
        self,
        operation: str,
        subject: str,
        approvers: Sequence[str],
        custodian: str | None = None,
    ) -> Entry:
        data: dict[str, JournalValue] = {
            "operation": Label(operation),
            "subject": Text(subject),
            "approvers": [Label(a) for a in approvers],
        }
        if custodian is not None:
            data["custodian"] = Label(custodian)
        return self.add("approval", approvers, data)

    def output(self, name: str, data: bytes, kind: str) -> None:
        self.outputs[name] = data
        self.add(
            "output_written",
            [],
            {"name": Text(name), "sha256": FileDigest.of(data), "kind": Label(kind)},
        )

    def finish(self, summary: str) -> Built:
        self.add(
            "finished",
            [],
            {"outputs": len(self.outputs), "summary": Text(summary)},
        )
        return Built(self.ceremony_id, self.bytes(), self.rehearsal, dict(self.outputs))


def _cv(method: KcvMethod, value: bytes) -> CheckValue:
    return CheckValue(method, value)


def _kcv_fields(cv: CheckValue) -> dict[str, JournalValue]:
    return {"kcv_method": Label(cv.method.label), "kcv": Label(cv.hex)}


def _attributes(extractable: bool) -> dict[str, JournalValue]:
    return {
        "token": True,
        "private": True,
        "sensitive": True,
        "extractable": extractable,
        "wrap_with_trusted": extractable,
        "modifiable": False,
        "local": True,
        "always_sensitive": True,
        "never_extractable": not extractable,
    }


def _key(seed: bytes, length: int = 32) -> Secret:
    return Secret(hashlib.sha256(b"key:" + seed).digest()[:length], "test key")


# ---- ceremony types -----------------------------------------------------------------------


def generate_export(
    ceremony_id: str = "2025-06-byok-gen",
    *,
    rehearsal: bool = True,
    token: str | None = None,
    signer: bytes | None = None,
) -> Built:
    """A key born in the HSM and wrapped inside it for AWS and GCP."""
    j = Journal(ceremony_id, "generate-export", rehearsal=rehearsal)
    j.opening(["so-alice", "so-bob", "w-carol", "aud-gina"], token=token, signer=signer)
    key = "byok-aes-2025"
    cmac_kcv = _cv(KcvMethod.AES_CMAC, bytes.fromhex("08793E1A2B"))
    ecb_kcv = _cv(KcvMethod.AES_ECB_ZERO, bytes.fromhex("4F1C9D"))
    j.add(
        "key_generated",
        ["so-alice", "so-bob"],
        {
            "key": Label(key),
            "type": Label("AES"),
            "bits": 256,
            "where": Label("hsm"),
            "attributes": _attributes(True),
            "kcvs": [cmac_kcv, ecb_kcv],
        },
    )
    targets = [
        ("aws-prod", "aws", "RSA_AES_KEY_WRAP_SHA_1", b"aws-import-key"),
        ("gcp-prod", "gcp", "rsa-oaep-3072-sha1-aes-256", b"gcp-import-key"),
    ]
    for target, provider, method, spki in targets:
        fp = Fingerprint.of_spki(spki)
        j.add(
            "import_key_confirmed",
            ["so-alice", "so-bob"],
            {
                "key": Label(key),
                "target": Label(target),
                "provider": Label(provider),
                "method": Label(method),
                "fingerprint": fp,
                "confirmed_by": [Label("so-alice"), Label("so-bob")],
                "pinned": True,
                "valid_to": datetime(2025, 6, 3, 8, 0, tzinfo=UTC),
            },
        )
        files = {
            f"{target}/EncryptedKeyMaterial.bin": hashlib.sha256(b"wrapped" + spki).digest() * 8,
            f"{target}/IMPORT.md": f"# Import into {provider}\n".encode(),
        }
        j.add(
            "wrapped",
            ["so-alice", "so-bob"],
            {
                "key": Label(key),
                "target": Label(target),
                "provider": Label(provider),
                "method": Label(method),
                "where": Label("hsm"),
                "mechanisms": [Label("CKM_RSA_PKCS_OAEP"), Label("CKM_AES_KEY_WRAP_KWP")],
                "files": [{"name": Text(n), "sha256": FileDigest.of(d)} for n, d in files.items()],
                "manual_cleartext": False,
            },
        )
        j.outputs.update(files)
    j.output("manifest.json", b'{"ceremony": "%s"}\n' % ceremony_id.encode(), "bundle")
    return j.finish("one AES-256 key generated in the HSM and wrapped for two cloud targets")


def split_backup(
    ceremony_id: str = "2025-06-zmk-split",
    *,
    rehearsal: bool = True,
    count: int = 3,
    signer: bytes | None = None,
) -> Built:
    """A key drawn from the HSM's generator, split into XOR components printed for custodians."""
    j = Journal(ceremony_id, "split-backup", rehearsal=rehearsal)
    custodians = ["kc-dan", "kc-erin", "kc-frank"][:count]
    j.opening(["so-alice", "so-bob", "w-carol", *custodians], signer=signer)
    label = "zmk-prod"
    material = _key(ceremony_id.encode())
    identity = KeyIdentity(ceremony_id, label, KeyAlgorithm.AES, 32)
    with rng.installed(seeded_source(ceremony_id.encode()), "seeded test source"):
        components = xor.split(material, identity, count)
    key_kcv = kcv.check_value(material, KcvMethod.AES_CMAC)
    j.approval("generate-outside-hsm", f"{label}", ["so-alice", "so-bob"])
    j.add(
        "key_generated",
        ["so-alice", "so-bob"],
        {
            "key": Label(label),
            "type": Label("AES"),
            "bits": 256,
            "where": Label("memory"),
            "attributes": {"source": Label("hsm-random")},
            "kcvs": [key_kcv],
        },
    )
    for component, custodian in zip(components, custodians, strict=True):
        i = component.index
        cv = encoding.component_kcv(component)
        j.approval("print-component", f"{label} component {i}", ["so-alice", "w-carol"], custodian)
        envelope = f"TE-{40110 + i}"
        j.add(
            "component_issued",
            [custodian, "so-alice", "w-carol"],
            {
                "key": Label(label),
                "split_set": Label(ceremony_id),
                "scheme": Label("XOR"),
                "index": i,
                "count": count,
                "threshold": count,
                "custodian": Label(custodian),
                **_kcv_fields(cv),
                "envelope": Label(envelope),
                "confirmed": True,
                "manual_cleartext": True,
            },
        )
        j.add(
            "envelope_sealed",
            [custodian, "w-carol"],
            {
                "key": Label(label),
                "index": i,
                "custodian": Label(custodian),
                "envelope": Label(envelope),
            },
        )
        if rehearsal:
            form = b"%PDF-1.4 rehearsal form " + f"{label}-{i}".encode()
            j.output(f"forms/{label}-component-{i}.pdf", form, "component-form")
    j.add(
        "key_imported",
        ["so-alice", "so-bob"],
        {
            "key": Label(label),
            "path": Label("host-memory"),
            "attributes": _attributes(False),
            "kcvs": [key_kcv],
        },
    )
    j.add("registry_updated", ["so-alice"], {"sha256": FileDigest.of(b"registry"), "records": 3})
    j.output("registry.json", b"registry", "registry")
    built = j.finish(f"key {label} split into {count} XOR components, sealed in envelopes")
    built.secrets = [bytes(material.reveal()), *(bytes(c.value.reveal()) for c in components)]
    built.components = components
    return built


def reconstitute(ceremony_id: str = "2025-07-zmk-rebuild", *, rehearsal: bool = True) -> Built:
    """Shamir 2-of-3 shares entered by two custodians, combined in memory, imported."""
    j = Journal(ceremony_id, "reconstitute", rehearsal=rehearsal)
    j.opening(["so-alice", "so-bob", "w-carol", "kc-dan", "kc-erin"])
    label = "zmk-prod"
    material = _key(b"shamir", 32)
    identity = KeyIdentity("2025-01-zmk-split", label, KeyAlgorithm.AES, 32)
    with rng.installed(seeded_source(b"shamir"), "seeded test source"):
        shares = shamir.split(material, identity, 2, 3)
    key_kcv = kcv.check_value(material, KcvMethod.AES_CMAC)
    for share, custodian in zip(shares[:2], ["kc-dan", "kc-erin"], strict=True):
        i = share.index
        envelope = f"TE-{30000 + i}"
        j.add(
            "envelope_checked",
            [custodian, "w-carol"],
            {
                "key": Label(label),
                "index": i,
                "custodian": Label(custodian),
                "envelope": Label(envelope),
                "intact": True,
            },
        )
        j.approval("enter-component", f"{label} component {i}", ["so-bob", "w-carol"], custodian)
        j.add(
            "component_entered",
            [custodian],
            {
                "key": Label(label),
                "split_set": Label("2025-01-zmk-split"),
                "index": i,
                "custodian": Label(custodian),
                **_kcv_fields(encoding.component_kcv(share)),
                "manual_cleartext": True,
            },
        )
    j.approval("assemble-key", label, ["so-alice", "so-bob"])
    j.add(
        "key_combined",
        ["so-alice", "so-bob"],
        {
            "key": Label(label),
            "path": Label("in-memory"),
            **_kcv_fields(key_kcv),
            "matches_recorded": True,
            "manual_cleartext": True,
        },
    )
    j.add(
        "key_imported",
        ["so-alice", "so-bob"],
        {
            "key": Label(label),
            "path": Label("host-memory"),
            "attributes": _attributes(False),
            "kcvs": [key_kcv],
        },
    )
    built = j.finish(f"key {label} rebuilt from 2 of 3 shares and imported into the HSM")
    built.secrets = [bytes(material.reveal()), *(bytes(s.value.reveal()) for s in shares)]
    built.components = shares
    return built


def destroy(ceremony_id: str = "2025-09-zmk-destroy", *, rehearsal: bool = True) -> Built:
    j = Journal(ceremony_id, "destroy", rehearsal=rehearsal)
    j.opening(["so-alice", "so-bob", "w-carol"])
    label = "zmk-old"
    j.approval("destroy", label, ["so-alice", "w-carol"])
    j.add(
        "key_destroyed",
        ["so-alice", "w-carol"],
        {
            "key": Label(label),
            "id": Label("a1b2c3"),
            "kcvs": [_cv(KcvMethod.AES_CMAC, bytes.fromhex("7A11C0"))],
        },
    )
    j.add(
        "component_to_destroy",
        ["so-alice"],
        {
            "key": Label(label),
            "split_set": Label("2023-04-zmk-split"),
            "index": 1,
            "custodian": Label("kc-dan"),
            "envelope": Label("TE-20001"),
        },
    )
    return j.finish(f"key {label} destroyed in the HSM")


def aborted(ceremony_id: str = "2025-06-aborted", *, rehearsal: bool = True) -> Built:
    j = Journal(ceremony_id, "generate-export", rehearsal=rehearsal)
    j.opening(["so-alice", "so-bob", "w-carol"])
    j.add(
        "step_failed",
        ["so-alice"],
        {"step": Label("generate"), "error": Text("the token went away while generating a key")},
    )
    j.entries.append(
        journal.aborted(j.entries[-1], Text("the token was removed"), j.now + timedelta(minutes=1))
    )
    return Built(j.ceremony_id, j.bytes(), rehearsal, {})


ALL = {
    "generate-export": generate_export,
    "split-backup": split_backup,
    "reconstitute": reconstitute,
    "destroy": destroy,
    "aborted": aborted,
}


def write_bundle(folder: Path, built: Built, files: Mapping[str, bytes]) -> Path:
    """A bundle folder as the engine leaves it: journal, outputs, record.pdf and journal.sig."""
    folder.mkdir(parents=True)
    (folder / "journal.jsonl").write_bytes(built.data)
    for name, data in {**built.outputs, **files}.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder
