"""The ceremony file: strict parsing, one error row per rule naming its dotted path, templates."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from ceremony.core.ceremony_file import (
    CeremonyType,
    FileError,
    KeySource,
    WrapPlace,
    parse_ceremony_file,
    summary,
)
from ceremony.core.component import Scheme
from ceremony.core.registry import Registry, RegistryRecord
from ceremony.core.rules import Operation, RuleBreach
from ceremony.errors import ConfigError, RuleViolation
from tests.unit.ceremony_files import PAYMENT, TEMPLATES, TYPES, dumps, template, zmk_issue_record

Edit = Callable[[dict[str, Any]], None]


def _walk(doc: Any, path: str) -> tuple[Any, str | int]:
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = doc
    for part in parts[:-1]:
        node = node[part]
    return node, parts[-1]


def put(path: str, value: object) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        node, last = _walk(doc, path)
        node[last] = value

    return edit


def drop(path: str) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        node, last = _walk(doc, path)
        del node[last]

    return edit


def add(path: str, value: object) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        node, last = _walk(doc, path)
        node[last].append(value)

    return edit


def person(pid: str, role: str, name: str | None = None, ref: str | None = None) -> dict[str, str]:
    return {
        "id": pid,
        "name": name or f"Person {pid}",
        "role": role,
        "id_reference": ref or f"badge of {pid}",
    }


def build(name: str, *edits: Edit) -> str:
    doc = template(name)
    for edit in edits:
        edit(doc)
    return dumps(doc)


# ---- templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TYPES)
def test_every_template_validates_and_has_a_summary(name: str) -> None:
    text = (TEMPLATES / f"{name}.toml").read_text("utf-8")
    ceremony = parse_ceremony_file(text)
    assert ceremony.ceremony.type is CeremonyType(name)
    lines = summary(ceremony)
    assert lines[0].startswith(f"Ceremony {ceremony.ceremony.id}: {name}")
    joined = "\n".join(lines)
    for p in ceremony.participants:
        assert p.name in joined
    for key in ceremony.keys:
        assert repr(key.label) in joined


@pytest.mark.parametrize("name", sorted(PAYMENT))
def test_each_payment_template_validates_as_its_type(name: str) -> None:
    ceremony = parse_ceremony_file((TEMPLATES / f"{name}.toml").read_text("utf-8"))
    assert ceremony.ceremony.type is CeremonyType(PAYMENT[name])
    assert all(k.type.value == "TDES" and k.role.payment for k in ceremony.keys)
    assert summary(ceremony)[0].startswith(f"Ceremony {ceremony.ceremony.id}: {PAYMENT[name]}")


def test_templates_cover_each_type_once_and_are_commented() -> None:
    assert sorted(p.stem for p in TEMPLATES.glob("*.toml")) == sorted([*TYPES, *PAYMENT])
    for name in [*TYPES, *PAYMENT]:
        assert (TEMPLATES / f"{name}.toml").read_text("utf-8").startswith("# Ceremony file:")
    assert (TEMPLATES / "README.md").is_file()


def test_round_trip_through_the_test_writer_is_faithful() -> None:
    for name in TYPES:
        direct = parse_ceremony_file((TEMPLATES / f"{name}.toml").read_bytes())
        assert parse_ceremony_file(build(name)) == direct


def test_parsed_file_is_frozen_and_typed() -> None:
    c = parse_ceremony_file(build("split-backup"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.ceremony.id = "other"  # type: ignore[misc]
    key = c.keys[0]
    assert key.source is KeySource.HSM_RANDOM
    assert key.split.scheme is Scheme.SHAMIR and (key.split.k, key.split.count) == (3, 5)
    assert [comp.index for comp in key.split.components] == [1, 2, 3, 4, 5]
    assert key.split.components[0].backup == "jlee"
    assert key.identity(c.ceremony.id).key_length == 32


def test_defaults_per_type() -> None:
    c = parse_ceremony_file(build("generate-export"))
    assert c.keys[0].source is KeySource.HSM
    assert {t.wrap for t in c.keys[0].targets} == {WrapPlace.HSM}
    d = parse_ceremony_file(build("destroy"))
    assert d.keys[0].source is KeySource.HSM_KEY


def test_bytes_bom_and_encoding() -> None:
    text = build("destroy")
    assert parse_ceremony_file(("\ufeff" + text).encode()) == parse_ceremony_file(text)
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_ceremony_file(text.encode() + b"\n# \xff\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_ceremony_file(text + "\n[ceremony\n")


# ---- one row per rule: the error names its dotted path -------------------------------------

SO, W, KC, BC, AU = "security-officer", "witness", "key-custodian", "backup-custodian", "auditor"
F, R = FileError, RuleBreach
ROWS: list[tuple[str, str, list[Edit], type[Exception], str]] = [
    # strictness
    ("unknown top-level table", "destroy", [put("extra", {"a": 1})], F, "extra"),
    ("misspelt field", "destroy", [put("participants.0.nam", "x")], F, "participants[0].nam"),
    ("field of another section", "destroy", [put("ceremony.module", "x")], F, "ceremony.module"),
    ("missing field", "destroy", [drop("ceremony.id")], F, "ceremony.id"),
    ("wrong type", "destroy", [put("ceremony.rehearsal", "yes")], F, "ceremony.rehearsal"),
    ("number for text", "destroy", [put("keys.0.label", 7)], F, "keys[0].label"),
    ("bool for number", "destroy", [put("keys.0.bits", True)], F, "keys[0].bits"),
    ("table for array", "destroy", [put("participants", {"id": "x"})], F, "participants"),
    # [printer]
    (
        "printer unknown field",
        "split-backup",
        [put("printer", {"queue": "ceremony-usb", "copies": 2})],
        F,
        "printer.copies",
    ),
    ("printer not a table", "split-backup", [put("printer", "ceremony-usb")], F, "printer"),
    ("printer without queue", "re-split", [put("printer", {})], F, "printer.queue"),
    ("printer queue number", "split-backup", [put("printer", {"queue": 5})], F, "printer.queue"),
    ("printer queue name", "split-backup", [put("printer", {"queue": "-a b"})], F, "printer.queue"),
    ("printer, nothing issued", "destroy", [put("printer", {"queue": "usb1"})], F, "printer"),
    # PINs and passwords never
    ("PIN in hsm", "destroy", [put("hsm.pin", "123456")], F, "hsm.pin"),
    ("SO PIN", "destroy", [put("hsm.so_pin", "123456")], F, "hsm.so_pin"),
    ("user-pin", "destroy", [put("hsm.user-pin", "123456")], F, "hsm.user-pin"),
    ("password", "destroy", [put("ceremony.password", "hunter22")], F, "ceremony.password"),
    (
        "passphrase",
        "destroy",
        [put("participants.0.passphrase", "x")],
        F,
        "participants[0].passphrase",
    ),
    ("secret in key", "destroy", [put("keys.0.secret", "00")], F, "keys[0].secret"),
    # ceremony
    ("ceremony type", "destroy", [put("ceremony.type", "rotate")], F, "ceremony.type"),
    ("ceremony id", "destroy", [put("ceremony.id", "has space")], F, "ceremony.id"),
    ("hex-like id", "destroy", [put("ceremony.id", "0123456789abcdef0123")], F, "ceremony.id"),
    (
        "key in purpose",
        "destroy",
        [put("ceremony.purpose", "k=" + "ab" * 16)],
        F,
        "ceremony.purpose",
    ),
    ("multi-line site", "destroy", [put("ceremony.site", "a\nb")], F, "ceremony.site"),
    # participants and roles
    ("role", "destroy", [put("participants.1.role", "boss")], F, "participants[1].role"),
    ("same id twice", "destroy", [put("participants.1.id", "amartin")], R, "participants[1].id"),
    (
        "same name twice",
        "destroy",
        [put("participants.2.name", "alice  MARTIN")],
        R,
        "participants[2].name",
    ),
    (
        "same document",
        "destroy",
        [put("participants.2.id_reference", "Staff Badge 0042")],
        R,
        "participants[2].id_reference",
    ),
    (
        "no security officer",
        "destroy",
        [put("participants.0.role", W), put("participants.1.role", W)],
        R,
        "participants",
    ),
    ("no witness in production", "destroy", [put("participants.2.role", SO)], R, "participants"),
    ("no participants", "destroy", [put("participants", [])], F, "participants"),
    # hsm
    ("no token", "destroy", [drop("hsm.token_label")], F, "hsm"),
    ("long label", "destroy", [put("hsm.token_label", "x" * 33)], F, "hsm.token_label"),
    ("bad serial", "destroy", [put("hsm.token_serial", "x" * 17)], F, "hsm.token_serial"),
    # keys
    ("no keys", "destroy", [put("keys", [])], F, "keys"),
    ("key type", "destroy", [put("keys.0.type", "DSA")], F, "keys[0].type"),
    ("AES bits", "generate-export", [put("keys.0.bits", 100)], F, "keys[0].bits"),
    (
        "RSA bits",
        "destroy",
        [put("keys.0.type", "RSA"), put("keys.0.bits", 1024), drop("keys.0.kcv")],
        F,
        "keys[0].bits",
    ),
    ("EC with bits", "destroy", [put("keys.0.type", "EC"), drop("keys.0.kcv")], F, "keys[0].bits"),
    (
        "EC curve",
        "destroy",
        [
            put("keys.0.type", "EC"),
            drop("keys.0.kcv"),
            drop("keys.0.bits"),
            put("keys.0.curve", "P-192"),
        ],
        F,
        "keys[0].curve",
    ),
    ("kcv method", "destroy", [put("keys.0.kcv", "AES-CMAC 0A1B2C")], F, "keys[0].kcv"),
    ("kcv text", "destroy", [put("keys.0.kcv", "0A1B2C")], F, "keys[0].kcv"),
    (
        "kcv on RSA",
        "destroy",
        [put("keys.0.type", "RSA"), put("keys.0.bits", 2048)],
        F,
        "keys[0].kcv",
    ),
    (
        "same key twice",
        "destroy",
        [add("keys", {"label": "zmk-2019", "type": "AES", "bits": 128})],
        F,
        "keys[1].label",
    ),
    ("source for type", "destroy", [put("keys.0.source", "hsm-random")], F, "keys[0].source"),
    (
        "single DES made new",
        "split-backup",
        [put("keys.0.type", "TDES"), put("keys.0.bits", 64)],
        F,
        "keys[0].bits",
    ),
    ("re-wrap without its KCV", "re-wrap", [drop("keys.0.kcv")], F, "keys[0].kcv"),
    (
        "a no-break space in a name",
        "destroy",
        [put("participants.0.name", "Alice\u00a0Martin")],
        F,
        "participants[0].name",
    ),
    (
        "one envelope for two components",
        "split-backup",
        [put("keys.0.split.components.1.envelope", "te-2025-000101")],
        F,
        "keys[0].split.components[1].envelope",
    ),
    ("re-wrap with nowhere to go", "re-wrap", [drop("keys.0.targets")], F, "keys[0].targets"),
    (
        "re-wrap of a key made here",
        "re-wrap",
        [put("keys.0.source", "hsm")],
        F,
        "keys[0].source",
    ),
    (
        "single-length DES stored in the HSM",
        "split-backup",
        [put("keys.0.type", "TDES"), put("keys.0.bits", 64)],
        F,
        "keys[0].bits",
    ),
    (
        "HMAC of no digest length stored in the HSM",
        "split-backup",
        [put("keys.0.type", "HMAC"), put("keys.0.bits", 136)],
        F,
        "keys[0].store_in_hsm",
    ),
    (
        "RSA split",
        "split-backup",
        [put("keys.0.type", "RSA"), put("keys.0.bits", 2048)],
        F,
        "keys[0].split.scheme",
    ),
    (
        "kcv before generation",
        "generate-export",
        [put("keys.0.kcv", "AES-CMAC 0A1B2C")],
        F,
        "keys[0].kcv",
    ),
    (
        "store_in_hsm in destroy",
        "destroy",
        [put("keys.0.store_in_hsm", True)],
        F,
        "keys[0].store_in_hsm",
    ),
    # splits
    ("split missing", "split-backup", [drop("keys.0.split")], F, "keys[0].split"),
    (
        "split not used",
        "generate-export",
        [put("keys.0.split", {"scheme": "xor"})],
        F,
        "keys[0].split",
    ),
    ("scheme", "split-backup", [put("keys.0.split.scheme", "sss")], F, "keys[0].split.scheme"),
    (
        "xor threshold",
        "reconstitute",
        [put("keys.0.split.threshold", 2)],
        F,
        "keys[0].split.threshold",
    ),
    (
        "shamir k > n",
        "split-backup",
        [put("keys.0.split.threshold", 6)],
        F,
        "keys[0].split.threshold",
    ),
    (
        "shamir k = 1",
        "split-backup",
        [put("keys.0.split.threshold", 1)],
        F,
        "keys[0].split.threshold",
    ),
    (
        "shamir k missing",
        "split-backup",
        [drop("keys.0.split.threshold")],
        F,
        "keys[0].split.threshold",
    ),
    (
        "xor of one",
        "reconstitute",
        [put("keys.0.split.components", [{"custodian": "ebrown"}])],
        F,
        "keys[0].split.components",
    ),
    (
        "new set skips",
        "split-backup",
        [put("keys.0.split.components.1.index", 4)],
        F,
        "keys[0].split.components[1].index",
    ),
    ("count mismatch", "split-backup", [put("keys.0.split.count", 6)], F, "keys[0].split.count"),
    (
        "too few shares listed",
        "re-split",
        [drop("keys.0.split.components.1")],
        F,
        "keys[0].split.components",
    ),
    (
        "index repeated",
        "re-split",
        [put("keys.0.split.components.1.index", 1)],
        F,
        "keys[0].split.components[1].index",
    ),
    (
        "index beyond n",
        "re-split",
        [put("keys.0.split.components.1.index", 4)],
        F,
        "keys[0].split.components[1].index",
    ),
    ("made_in missing", "reconstitute", [drop("keys.0.split.made_in")], F, "keys[0].split.made_in"),
    (
        "made_in on new set",
        "split-backup",
        [put("keys.0.split.made_in", "x")],
        F,
        "keys[0].split.made_in",
    ),
    ("recorded kcv missing", "reconstitute", [drop("keys.0.kcv")], F, "keys[0].kcv"),
    (
        "component kcv on new set",
        "split-backup",
        [put("keys.0.split.components.0.kcv", "AES-CMAC 0A1B2C")],
        F,
        "keys[0].split.components[0].kcv",
    ),
    (
        "kcv of a component not made yet",
        "re-split",
        [put("keys.0.new_split.components.0.kcv", "AES-CMAC 0A1B2C")],
        F,
        "keys[0].new_split.components[0].kcv",
    ),
    (
        "component kcv method",
        "reconstitute",
        [put("keys.0.split.components.2.kcv", "TDES-ECB 0A1B2C")],
        F,
        "keys[0].split.components[2].kcv",
    ),
    ("new_split missing", "re-split", [drop("keys.0.new_split")], F, "keys[0].new_split"),
    (
        "new_split elsewhere",
        "reconstitute",
        [put("keys.0.new_split", {"scheme": "xor"})],
        F,
        "keys[0].new_split",
    ),
    (
        "unknown custodian",
        "split-backup",
        [put("keys.0.split.components.1.custodian", "zed")],
        F,
        "keys[0].split.components[1].custodian",
    ),
    (
        "unknown backup",
        "split-backup",
        [put("keys.0.split.components.1.backup", "zed")],
        F,
        "keys[0].split.components[1].backup",
    ),
    # split knowledge
    (
        "one custodian, two components",
        "split-backup",
        [put("keys.0.split.components.3.custodian", "ebrown")],
        R,
        "keys[0].split.components[3]",
    ),
    (
        "backup is the custodian",
        "split-backup",
        [put("keys.0.split.components.1.backup", "fgarcia")],
        R,
        "keys[0].split.components[1]",
    ),
    (
        "xor backup holds another",
        "reconstitute",
        [put("keys.0.split.components.0.backup", "gkim")],
        R,
        "keys[0].split.components[2]",
    ),
    (
        "shamir backup reaches k",
        "split-backup",
        [
            put("keys.0.split.components.1.backup", "jlee"),
            put("keys.0.split.components.2.backup", "jlee"),
        ],
        R,
        "keys[0].split.components[2]",
    ),
    (
        "component to a witness",
        "split-backup",
        [put("keys.0.split.components.1.custodian", "cwright")],
        R,
        "keys[0].split.components[1]",
    ),
    (
        "backup is an officer",
        "split-backup",
        [put("keys.0.split.components.1.backup", "amartin")],
        R,
        "keys[0].split.components[1]",
    ),
    (
        "new component to a backup custodian",
        "split-backup",
        [
            put("keys.0.split.components.1.custodian", "jlee"),
            drop("keys.0.split.components.0.backup"),
        ],
        R,
        "keys[0].split.components[1]",
    ),
    (
        "new set: two to one person",
        "re-split",
        [put("keys.0.new_split.components.2.custodian", "gkim")],
        R,
        "keys[0].new_split.components[2]",
    ),
    # targets
    (
        "provider",
        "generate-export",
        [put("keys.0.targets.0.provider", "oci")],
        F,
        "keys[0].targets[0].provider",
    ),
    (
        "algorithm unknown",
        "generate-export",
        [put("keys.0.targets.1.algorithm", "RSA_FOO")],
        F,
        "keys[0].targets[1].algorithm",
    ),
    (
        "algorithm of another cloud",
        "generate-export",
        [put("keys.0.targets.2.algorithm", "RSAES_OAEP_SHA_256")],
        F,
        "keys[0].targets[2].algorithm",
    ),
    (
        "refused PKCS#1 v1.5",
        "generate-export",
        [put("keys.0.targets.0.algorithm", "RSAES_PKCS1_V1_5")],
        F,
        "keys[0].targets[0].algorithm",
    ),
    (
        "algorithm missing",
        "generate-export",
        [drop("keys.0.targets.0.algorithm")],
        F,
        "keys[0].targets[0].algorithm",
    ),
    (
        "azure field on aws",
        "generate-export",
        [put("keys.0.targets.0.kek_id", "x")],
        F,
        "keys[0].targets[0].kek_id",
    ),
    (
        "gcp field on azure",
        "generate-export",
        [put("keys.0.targets.1.import_job", "x")],
        F,
        "keys[0].targets[1].import_job",
    ),
    (
        "no fingerprint in production",
        "generate-export",
        [drop("keys.0.targets.0.fingerprint")],
        F,
        "keys[0].targets[0].fingerprint",
    ),
    (
        "bad fingerprint",
        "generate-export",
        [put("keys.0.targets.0.fingerprint", "abc")],
        F,
        "keys[0].targets[0].fingerprint",
    ),
    (
        "same target label",
        "generate-export",
        [put("keys.0.targets.1.label", "aws-payments")],
        F,
        "keys[0].targets[1].label",
    ),
    (
        "bad AWS key id",
        "generate-export",
        [put("keys.0.targets.0.key_id", "alias/x")],
        F,
        "keys[0].targets[0]",
    ),
    (
        "bad region",
        "generate-export",
        [put("keys.0.targets.0.region", "Europe")],
        F,
        "keys[0].targets[0].region",
    ),
    (
        "naive expiry",
        "reconstitute",
        [put("keys.0.targets.0.material_valid_to", datetime(2026, 1, 1))],
        F,
        "keys[0].targets[0].material_valid_to",
    ),
    (
        "unversioned KEK",
        "generate-export",
        [put("keys.0.targets.1.kek_id", "https://v.vault.azure.net/keys/k")],
        F,
        "keys[0].targets[1]",
    ),
    (
        "azure op",
        "generate-export",
        [put("keys.0.targets.1.ops", ["encrypt", "burn"])],
        F,
        "keys[0].targets[1].ops[1]",
    ),
    (
        "gcp key id",
        "generate-export",
        [put("keys.0.targets.2.key", "a b")],
        F,
        "keys[0].targets[2].key",
    ),
    (
        "gcp key algorithm",
        "generate-export",
        [put("keys.0.targets.2.key_algorithm", "rsa-sign-pss-2048-sha256")],
        F,
        "keys[0].targets[2]",
    ),
    (
        "AWS takes no AES-128",
        "generate-export",
        [put("keys.0.bits", 128), drop("keys.0.targets.1"), drop("keys.0.targets.1")],
        F,
        "keys[0].targets[0]",
    ),
    (
        "Key Vault takes no AES",
        "generate-export",
        [
            put(
                "keys.0.targets.1.kek_id",
                "https://contoso.vault.azure.net/keys/kek/0123456789abcdef0123456789abcdef",
            )
        ],
        F,
        "keys[0].targets[1]",
    ),
    (
        "no cloud takes TDES",
        "reconstitute",
        [
            put("keys.0.type", "TDES"),
            put("keys.0.bits", 128),
            put("keys.0.kcv", "TDES-ECB 0A1B2C"),
            drop("keys.0.split.components.0.kcv"),
            drop("keys.0.split.components.1.kcv"),
            drop("keys.0.split.components.2.kcv"),
        ],
        F,
        "keys[0].targets[0]",
    ),
    (
        "RSA by direct OAEP",
        "generate-export",
        [
            put("keys.0.type", "RSA"),
            put("keys.0.bits", 2048),
            put("keys.0.targets.0.algorithm", "RSAES_OAEP_SHA_256"),
        ],
        F,
        "keys[0].targets[0].algorithm",
    ),
    (
        "targets in destroy",
        "destroy",
        [
            put(
                "keys.0.targets",
                [
                    {
                        "label": "x",
                        "provider": "gcp",
                        "algorithm": "RSA_OAEP_3072_SHA256",
                        "import_key": "a",
                        "key": "k",
                    }
                ],
            )
        ],
        F,
        "keys[0].targets",
    ),
    (
        "no target in generate-export",
        "generate-export",
        [put("keys.0.targets", [])],
        F,
        "keys[0].targets",
    ),
    (
        "rebuilt key goes nowhere",
        "reconstitute",
        [put("keys.0.targets", []), put("keys.0.store_in_hsm", False)],
        F,
        "keys[0]",
    ),
    (
        "HSM wrap of a key not on the HSM",
        "reconstitute",
        [put("keys.0.store_in_hsm", False)],
        F,
        "keys[0].targets[0].wrap",
    ),
    # dual control is possible with the people listed
    (
        "one approver for a software wrap",
        "generate-export",
        [
            put("ceremony.rehearsal", True),
            put("participants", [person("amartin", SO), person("dn", AU)]),
            put("keys.0.targets.0.wrap", "software"),
        ],
        R,
        "keys[0].targets[0].wrap",
    ),
    (
        "destroy without two approvers",
        "destroy",
        [
            put("ceremony.rehearsal", True),
            put("participants", [person("amartin", SO), person("au", AU)]),
        ],
        R,
        "keys[0]",
    ),
    (
        "only custodians could approve entry",
        "reconstitute",
        [
            put("ceremony.rehearsal", True),
            put(
                "participants",
                [
                    person("amartin", SO),
                    person("ebrown", KC),
                    person("fgarcia", KC),
                    person("gkim", KC),
                ],
            ),
            put("participants.0.role", AU),
        ],
        R,
        "participants",
    ),
]


@pytest.mark.parametrize(
    ("name", "base", "edits", "error", "path"), ROWS, ids=[row[0] for row in ROWS]
)
def test_error_table(
    name: str, base: str, edits: list[Edit], error: type[Exception], path: str
) -> None:
    text = build(base, *edits)
    with pytest.raises(error) as caught:
        parse_ceremony_file(text)
    ex = caught.value
    assert isinstance(ex, ConfigError | RuleViolation)
    assert getattr(ex, "path", None) == path
    assert ex.message.startswith(path + (":" if isinstance(ex, RuleBreach) else " ")), ex.message
    if isinstance(ex, RuleBreach):
        assert ex.rule in ex.message


def test_the_error_table_covers_every_ceremony_type() -> None:
    assert {row[1] for row in ROWS} == set(TYPES)


@pytest.mark.parametrize("key", ["pin", "so_pin", "user-pin", "password", "token_pin", "PIN"])
def test_a_pin_is_refused_anywhere_and_never_echoed(key: str) -> None:
    for where in ("hsm", "ceremony", "keys.0", "participants.0"):
        text = build("destroy", put(f"{where}.{key}", "271828"))
        with pytest.raises(FileError) as caught:
            parse_ceremony_file(text)
        assert "271828" not in str(caught.value)
        assert "PIN" in caught.value.message


def test_a_pin_key_is_refused_before_any_other_error() -> None:
    text = build("destroy", put("hsm.pin", "271828"), put("ceremony.type", "bogus"))
    with pytest.raises(FileError, match=r"^hsm\.pin "):
        parse_ceremony_file(text)


def test_unknown_field_hint_suggests_the_close_match() -> None:
    with pytest.raises(FileError) as caught:
        parse_ceremony_file(build("destroy", put("participants.0.id_refrence", "x")))
    assert caught.value.hint == "did you mean id_reference?"


def test_rehearsal_allows_missing_fingerprint_and_no_witness() -> None:
    text = build(
        "generate-export",
        put("ceremony.rehearsal", True),
        drop("keys.0.targets.0.fingerprint"),
        put("participants.2.role", SO),
    )
    c = parse_ceremony_file(text)
    assert c.rehearsal
    joined = "\n".join(summary(c))
    assert "REHEARSAL" in joined and "No pinned fingerprint" in joined


@pytest.mark.parametrize(
    ("name", "issued"),
    [("split-backup", "keys.0.split.components.2"), ("re-split", "keys.0.new_split.components.1")],
)
def test_production_seals_every_issued_component_in_a_listed_envelope(
    name: str, issued: str
) -> None:
    text = build(name, drop(f"{issued}.envelope"))
    path = issued.replace(".components.", ".components[").replace(".0.", "[0].") + "].envelope"
    with pytest.raises(FileError) as caught:
        parse_ceremony_file(text)
    assert caught.value.path == path
    assert "tamper-evident envelope" in caught.value.message
    parse_ceremony_file(build(name, drop(f"{issued}.envelope"), put("ceremony.rehearsal", True)))


def test_backup_custodian_may_enter_an_existing_component() -> None:
    # Re-split after a custodian left: the backup who held share 2 enters it.
    text = build(
        "re-split",
        put("keys.0.split.components.1.custodian", "jlee"),
        put("keys.0.split.components.1.index", 2),
        drop("keys.0.new_split.components.0.backup"),
    )
    parse_ceremony_file(text)
    # Had Jia stayed the backup of a new component, she would know two components of one key.
    with pytest.raises(RuleBreach, match="from any split") as caught:
        parse_ceremony_file(
            build(
                "re-split",
                put("keys.0.split.components.1.custodian", "jlee"),
                put("keys.0.split.components.1.index", 2),
            )
        )
    assert caught.value.people == ("jlee",)


def test_re_split_to_a_custodian_of_the_old_set_is_refused() -> None:
    text = build("re-split", put("keys.0.new_split.components.1.custodian", "ebrown"))
    with pytest.raises(RuleBreach, match="held a component of set") as caught:
        parse_ceremony_file(text)
    assert caught.value.path == "keys[0].new_split.components[1]"


def test_shamir_backup_may_hold_fewer_than_k() -> None:
    # 3-of-5: a backup of one share who is nobody else's backup is fine; PCI PIN 21-2.4
    # allows one person two shares of a 3-of-5 set.
    text = build("split-backup", put("keys.0.split.components.1.backup", "jlee"))
    parse_ceremony_file(text)


# ---- planned operations and the summary -----------------------------------------------------


def test_planned_operations_per_type() -> None:
    ops = {
        name: [op.operation for op in parse_ceremony_file(build(name)).planned_operations()]
        for name in TYPES
    }
    assert ops["generate-export"] == []
    assert ops["split-backup"] == [Operation.GENERATE_OUTSIDE_HSM] + [Operation.SHOW_COMPONENT] * 5
    assert ops["reconstitute"] == [Operation.ENTER_COMPONENT] * 3 + [Operation.ASSEMBLE_KEY]
    assert (
        ops["re-split"]
        == [Operation.ENTER_COMPONENT] * 2
        + [Operation.ASSEMBLE_KEY]
        + [Operation.SHOW_COMPONENT] * 3
    )
    assert ops["destroy"] == [Operation.DESTROY]
    software = parse_ceremony_file(
        build("generate-export", put("keys.0.targets.0.wrap", "software"))
    )
    assert [op.operation for op in software.planned_operations()] == [
        Operation.CLEAR_EXPORT,
        Operation.SOFTWARE_WRAP,
    ]


def test_a_printer_makes_production_components_printed_and_the_summary_says_so() -> None:
    printer = put("printer", {"queue": "ceremony-usb"})
    printing = parse_ceremony_file(build("split-backup", printer))
    assert printing.printer is not None and printing.printer.queue == "ceremony-usb"
    assert printing.prints_forms() and not printing.prints_forms(rehearsal=True)
    ops = [op.operation for op in printing.planned_operations()]
    assert ops == [Operation.GENERATE_OUTSIDE_HSM] + [Operation.PRINT_COMPONENT] * 5
    joined = "\n".join(summary(printing))
    assert "print component 1 of key 'zmk-prod'" in joined
    assert "printed from memory on the CUPS printer 'ceremony-usb'" in joined
    assert "network printer needs two security officers" in joined

    screen = "\n".join(summary(parse_ceremony_file(build("split-backup"))))
    assert "no printer; each component is shown on screen" in screen
    rehearsal = parse_ceremony_file(build("re-split", printer, put("ceremony.rehearsal", True)))
    assert not rehearsal.prints_forms()
    assert Operation.PRINT_COMPONENT not in [op.operation for op in rehearsal.planned_operations()]
    assert "The printer 'ceremony-usb' is not used in a rehearsal" in "\n".join(summary(rehearsal))
    assert "Component forms" not in "\n".join(summary(parse_ceremony_file(build("destroy"))))


def test_planned_component_operations_involve_its_holders() -> None:
    c = parse_ceremony_file(build("split-backup"))
    first = c.planned_operations()[1]
    assert (first.component, first.involved) == (1, frozenset({"ebrown", "jlee"}))
    generate = c.planned_operations()[0]
    assert generate.involved == frozenset({"ebrown", "fgarcia", "gkim", "hsato", "imensah", "jlee"})
    assert first.split_set == c.ceremony.id


def test_summary_reads_aloud() -> None:
    lines = summary(parse_ceremony_file(build("re-split")))
    joined = "\n".join(lines)
    assert "Shamir into 3 shares; any 2 rebuild the key; 2 listed here" in joined
    assert "made in ceremony 2025-07-zmk-shamir" in joined
    assert (
        "Component 1: held by Hiro Sato (hsato), backup Jia Lee (jlee), envelope TE-2025-000401."
        in joined
    )
    assert "enter component 3 of key 'zmk-prod'" in joined
    assert all("\n" not in line for line in lines)


# ---- with a custodian registry ----------------------------------------------------------------


def _registry(*records: RegistryRecord) -> Registry:
    return Registry(records)


def test_registry_that_matches_the_file_passes() -> None:
    registry = _registry(
        zmk_issue_record("ebrown", 1, "staff badge 0211"),
        zmk_issue_record("fgarcia", 2, "staff badge 0212"),
        zmk_issue_record("gkim", 3, "staff badge 0213"),
    )
    parse_ceremony_file(build("reconstitute"), registry=registry)


def test_registry_showing_earlier_knowledge_is_refused() -> None:
    # Emma held component 2 of this set before; now she is named for component 1 too.
    registry = _registry(
        zmk_issue_record("ebrown", 1, "staff badge 0211"),
        zmk_issue_record("ebrown", 2, "staff badge 0211"),
        zmk_issue_record("gkim", 3, "staff badge 0213"),
    )
    with pytest.raises(RuleBreach) as caught:
        parse_ceremony_file(build("reconstitute"), registry=registry)
    assert caught.value.path == "keys[0].split.components[0]"
    assert "registry shows" in caught.value.message
    assert caught.value.people == ("ebrown",)


def test_registry_holder_mismatch_is_refused() -> None:
    # The registry says component 2 was Hiro's: Felipe entering it would see another's.
    registry = _registry(
        zmk_issue_record("ebrown", 1, "staff badge 0211"),
        zmk_issue_record("hsato", 2, "staff badge 0214"),
        zmk_issue_record("gkim", 3, "staff badge 0213"),
    )
    with pytest.raises(RuleBreach, match="registry shows it was held by") as caught:
        parse_ceremony_file(build("reconstitute"), registry=registry)
    assert caught.value.path == "keys[0].split.components[1]"


def test_registry_alias_of_an_identity_document_is_refused() -> None:
    registry = _registry(zmk_issue_record("emma.b", 1, "Staff Badge 0211"))
    with pytest.raises(RuleBreach) as caught:
        parse_ceremony_file(build("split-backup"), registry=registry)
    assert caught.value.path == "participants"
    assert set(caught.value.people) == {"ebrown", "emma.b"}


def test_registry_with_another_shape_for_the_set_is_refused() -> None:
    registry = _registry(
        dataclasses.replace(
            zmk_issue_record("ebrown", 1, "staff badge 0211"), scheme=Scheme.SHAMIR, threshold=2
        )
    )
    with pytest.raises(RuleBreach, match="Shamir 2 of 3") as caught:
        parse_ceremony_file(build("reconstitute"), registry=registry)
    assert caught.value.path == "keys[0].split"


# ---- HSM login, sources and import-key confirmation -------------------------------------------


def test_split_pin_needs_two_security_officers() -> None:
    parse_ceremony_file(build("generate-export", put("hsm.login", "split-pin")))
    with pytest.raises(RuleBreach, match="split PIN needs two security officers") as caught:
        parse_ceremony_file(build("split-backup", put("hsm.login", "split-pin")))
    assert caught.value.path == "hsm.login"
    with pytest.raises(ConfigError, match=r"hsm\.login"):
        parse_ceremony_file(build("split-backup", put("hsm.login", "typed")))


def test_split_backup_may_generate_in_the_hsm_then_export() -> None:
    c = parse_ceremony_file(
        build("split-backup", put("keys.0.source", "hsm"), drop("keys.0.store_in_hsm"))
    )
    ops = [op.operation for op in c.planned_operations()]
    assert ops == [Operation.CLEAR_EXPORT] + [Operation.SHOW_COMPONENT] * 5
    with pytest.raises(ConfigError, match="already on the HSM"):
        parse_ceremony_file(build("split-backup", put("keys.0.source", "hsm")))


def test_import_keys_need_two_officers_to_confirm() -> None:
    # One security officer and an auditor: nobody can confirm the fingerprints with them.
    text = build(
        "generate-export",
        put("participants.1.role", "auditor"),
        put("participants.2.role", "auditor"),
        put("ceremony.rehearsal", True),
    )
    with pytest.raises(RuleBreach, match="confirm a cloud import key") as caught:
        parse_ceremony_file(text)
    assert caught.value.path == "keys[0].targets[0].import_key"


def test_every_key_rule_names_only_the_ceremony_type_the_key_type_and_its_role() -> None:
    from ceremony.core.ceremony_file import per_type

    assert per_type.KEY_RULES
    for rule in per_type.KEY_RULES:
        text = rule.problem.format(kind="re-split", type="EC", role="ZMK")
        assert "{" not in text and "}" not in text, rule.problem
