"""The record's key sections: each key's type, birth, attributes, KCVs, role and history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ceremony.core.journal import Entry, JsonValue
from ceremony.record.describe import describe
from ceremony.record.fields import UNKNOWN, kcv_list, kcv_text, mapping, text


@dataclass(frozen=True)
class ComponentRow:
    event: str  # issued, sealed, checked, entered, to destroy
    key: str
    split_set: str
    scheme: str
    index: str
    count: str
    custodian: str
    kcv: str
    envelope: str
    note: str
    seq: int


@dataclass
class KeySection:
    label: str
    type: str = UNKNOWN
    size: str = UNKNOWN
    where: str = UNKNOWN
    attributes_before: dict[str, JsonValue] = field(default_factory=dict)
    attributes: dict[str, JsonValue] = field(default_factory=dict)
    kcvs: list[str] = field(default_factory=list)
    role: str = ""  # a payment key's role; a data key's is not journaled
    history: list[tuple[int, str]] = field(default_factory=list)  # (seq, what happened)
    components: list[ComponentRow] = field(default_factory=list)


def add_key_event(key_of: Callable[[str], KeySection], entry: Entry) -> None:
    """What ``entry`` says about its key: type, birth, attributes, KCVs, role, history."""
    d = entry.data
    e = entry.event
    label = d.get("key")
    if not isinstance(label, str):
        return
    k = key_of(label)
    if isinstance(d.get("role"), str):
        k.role = text(d, "role")
    if e == "key_generated":
        k.type = text(d, "type")
        k.size = f"{text(d, 'bits')} bits" if "bits" in d else text(d, "curve")
        k.where = "inside the HSM" if d.get("where") == "hsm" else "in workstation memory"
        k.attributes_before = mapping(d, "attributes_before")
        k.attributes = mapping(d, "attributes")
        k.kcvs = kcv_list(d)
    elif e == "key_imported":
        if not k.attributes:
            k.attributes = mapping(d, "attributes")
        else:
            k.attributes_before = k.attributes_before or k.attributes
            k.attributes = mapping(d, "attributes")
        k.kcvs = k.kcvs or kcv_list(d)
        if k.where == UNKNOWN:
            k.where = f"imported ({text(d, 'path')})"
    elif e == "key_destroyed":
        k.kcvs = k.kcvs or kcv_list(d)
    elif e == "key_checked":
        k.type = text(d, "type")
        k.size = f"{text(d, 'bits')} bits" if "bits" in d else k.size
        k.where = "on the HSM already (chosen by label, KCV checked)"
        k.attributes = mapping(d, "attributes")
        k.kcvs = kcv_list(d)
    elif e == "key_block_opened":
        k.type = text(d, "type")
        k.size = f"{text(d, 'bits')} bits"
        k.kcvs = k.kcvs or [kcv_text(d)]
        k.where = (
            f"received as a TR-31 block (version {text(d, 'version')}, usage "
            f"{text(d, 'key_usage')}, mode {text(d, 'mode_of_use')}) under "
            f"{text(d, 'kbpk')}, opened in memory"
        )
    elif e == "key_combined" and "type" in d and "bits" in d:
        k.type = text(d, "type")
        k.size = f"{text(d, 'bits')} bits"
        k.kcvs = k.kcvs or [kcv_text(d)]
    elif e == "key_combined" and not k.kcvs:
        k.kcvs = [kcv_text(d)]
    elif e == "key_exported":
        k.kcvs = k.kcvs or kcv_list(d)
    if e in (
        "component_issued",
        "component_entered",
        "envelope_sealed",
        "envelope_checked",
        "component_to_destroy",
        "component_printed",
    ):
        event = {
            "component_issued": "issued",
            "component_entered": "entered",
            "envelope_sealed": "sealed",
            "envelope_checked": "checked",
            "component_to_destroy": "to destroy",
            "component_printed": "printed",
        }[e]
        note = ""
        if e == "component_issued":
            note = "KCV confirmed" if d.get("confirmed") is True else "KCV NOT confirmed"
        elif e == "component_printed":
            note = f"on {text(d, 'printer')}, job {text(d, 'job')}"
        elif e == "envelope_checked":
            note = "intact" if d.get("intact") is True else "NOT INTACT"
            if d.get("serial_matches") is False:
                note = f"serial is not {text(d, 'recorded')}"
            elif d.get("serial_matches") is True:
                note += f", serial as in {text(d, 'recorded_in')}"
        count = text(d, "count")
        k.components.append(
            ComponentRow(
                event,
                label,
                text(d, "split_set") if "split_set" in d else "",
                f"{text(d, 'scheme')} {text(d, 'threshold')} of {count}" if "scheme" in d else "",
                text(d, "index"),
                count if "count" in d else "",
                text(d, "custodian"),
                kcv_text(d) if "kcv" in d else "",
                text(d, "envelope") if "envelope" in d else "",
                note,
                entry.seq,
            )
        )
    if e in (
        "key_generated",
        "key_checked",
        "key_imported",
        "key_combined",
        "key_exported",
        "key_destroyed",
        "key_block_opened",
        "key_block_written",
    ):
        k.history.append((entry.seq, describe(entry)))
