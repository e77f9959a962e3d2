"""Small ceremonies of every type for the interruption tests (fake token and SoftHSM2): few
people and few steps, so a kill at every journal entry stays affordable; and what a finished
restart must leave behind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ceremony.core.journal import Verified
from ceremony.core.registry import RecordEvent, parse_registry
from ceremony.rehearsal import AWS_ARN

KINDS = ("generate-export", "split-backup", "reconstitute", "re-split", "destroy", "re-wrap")
PEOPLE = {
    "amartin": ("Alice Martin", "security-officer"),
    "bokafor": ("Ben Okafor", "security-officer"),
    "cwright": ("Chloe Wright", "witness"),
    "ebrown": ("Emma Brown", "key-custodian"),
    "fgarcia": ("Felipe Garcia", "key-custodian"),
    "gkim": ("Grace Kim", "key-custodian"),
    "hsato": ("Hana Sato", "key-custodian"),
}
_WHO = {
    "generate-export": ("amartin", "bokafor", "cwright"),
    "split-backup": ("amartin", "cwright", "ebrown", "fgarcia"),
    "reconstitute": ("amartin", "cwright", "ebrown", "fgarcia"),
    "re-split": ("amartin", "cwright", "ebrown", "fgarcia", "gkim", "hsato"),
    "destroy": ("amartin", "bokafor", "cwright"),
    "re-wrap": ("amartin", "bokafor", "cwright"),
}
ENVELOPES = ("TE-K-1", "TE-K-2")
CUSTODIANS = ("ebrown", "fgarcia")


@dataclass(frozen=True)
class MadeSet:
    """A split set made earlier (for reconstitute and re-split): its id, KCVs and texts."""

    ceremony_id: str
    key_kcv: str  # "AES-CMAC 0A1B2C"
    component_kcvs: tuple[str, ...]
    texts: dict[str, str]  # "<key>.<index>" -> component text


def doc(
    kind: str,
    ceremony_id: str,
    *,
    module: str,
    token_label: str,
    label: str,
    made: MadeSet | None = None,
    key_kcv: str | None = None,
) -> dict[str, Any]:
    """A rehearsal ceremony of ``kind`` on ``label``; reconstitute and re-split enter ``made``."""
    people = [
        {"id": i, "name": PEOPLE[i][0], "role": PEOPLE[i][1], "id_reference": f"badge {i}"}
        for i in _WHO[kind]
    ]
    key: dict[str, Any] = {"label": label, "type": "AES", "bits": 128}
    if kind in ("generate-export", "re-wrap"):
        key["bits"] = 256
        if kind == "re-wrap":
            assert key_kcv is not None
            key["kcv"] = key_kcv
        key["targets"] = [
            {
                "label": "aws-k",
                "provider": "aws",
                "algorithm": "RSA_AES_KEY_WRAP_SHA_1",
                "import_key": "imports/aws-params.json",
                "key_id": AWS_ARN,
                "material_never_expires": True,
            }
        ]
    elif kind == "split-backup":
        key["source"] = "hsm"
        key["split"] = {
            "scheme": "xor",
            "components": [
                {"custodian": c, "envelope": e}
                for c, e in zip(("ebrown", "fgarcia"), ENVELOPES, strict=True)
            ],
        }
    elif kind in ("reconstitute", "re-split"):
        assert made is not None
        key["kcv"] = made.key_kcv
        key["split"] = {
            "scheme": "xor",
            "made_in": made.ceremony_id,
            "components": [
                {"custodian": c, "kcv": k, "envelope": e}
                for c, k, e in zip(
                    ("ebrown", "fgarcia"), made.component_kcvs, ENVELOPES, strict=True
                )
            ],
        }
        if kind == "reconstitute":
            key["store_in_hsm"] = True
        else:
            key["new_split"] = {
                "scheme": "xor",
                "components": [{"custodian": c} for c in ("gkim", "hsato")],
            }
    else:
        assert key_kcv is not None
        key["kcv"] = key_kcv
    return {
        "ceremony": {
            "id": ceremony_id,
            "type": kind,
            "site": "test bench",
            "purpose": "an interrupted ceremony and its restart",
            "output": "out",
            "rehearsal": True,
            "registry": "registry/custodians.json",
        },
        "participants": people,
        "hsm": {"module": module, "token_label": token_label},
        "keys": [key],
    }


def exposed(killed: Verified) -> set[tuple[str, int]]:
    """(split set, index) of every component the killed journal shows as issued or shown."""
    found = set()
    for e in killed.entries:
        d = e.data
        if e.event in ("component_issued", "component_printed", "envelope_sealed") or (
            e.event == "approval" and d.get("operation") in ("show-component", "print-component")
        ):
            found.add((str(d.get("split_set", killed.ceremony_id)), int(d["index"])))  # type: ignore[call-overload]
    return found


def check_voided(folder: Path, label: str, killed: Verified, restart_id: str) -> None:
    """The registry voids exactly the components the killed run exposed, by the restart."""
    path = folder / "registry/custodians.json"
    if not path.exists():  # a generate-export or destroy writes no registry
        assert not exposed(killed)
        return
    registry = parse_registry(path.read_bytes())
    voided = {
        (r.set, r.component)
        for r in registry.records
        if r.key == label and r.event is RecordEvent.VOIDED
    }
    assert voided == exposed(killed), (voided, exposed(killed))
    assert all(
        r.ceremony == restart_id
        for r in registry.records
        if r.key == label and r.event is RecordEvent.VOIDED
    )
