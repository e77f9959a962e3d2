"""The ceremony file in plain sentences, for a witness to read aloud."""

from __future__ import annotations

from ceremony.core.ceremony_file.document import CeremonyFile
from ceremony.core.ceremony_file.vocabulary import (
    HsmLogin,
    WrapPlace,
)

# ---- the summary a witness reads aloud --------------------------------------------------------


def summary(ceremony: CeremonyFile) -> list[str]:
    """The ceremony in plain sentences, one per line, for a witness to read aloud."""
    info = ceremony.ceremony
    roster = ceremony.roster
    lines = [f"Ceremony {info.id}: {info.type.value}, to {info.type.description}."]
    if info.rehearsal:
        lines.append("This is a REHEARSAL: nothing it produces may be used for real keys.")
    lines += [f"Site: {info.site}.", f"Purpose: {info.purpose}", ""]
    lines.append(f"Participants ({len(ceremony.participants)}):")
    for p in ceremony.participants:
        lines.append(
            f"  {p.describe()}, {p.role.title}; identity checked against {p.id_reference}."
        )
    token = []
    if ceremony.hsm.token_label is not None:
        token.append(f"labelled {ceremony.hsm.token_label!r}")
    if ceremony.hsm.token_serial is not None:
        token.append(f"with serial {ceremony.hsm.token_serial!r}")
    login = (
        "two security officers each type half of each PIN"
        if ceremony.hsm.login is HsmLogin.SPLIT_PIN
        else "a security officer types each PIN"
    )
    lines += [
        "",
        f"HSM: the token {' and '.join(token)}, through {ceremony.hsm.module}; {login}.",
        "",
    ]
    for i, key in enumerate(ceremony.keys):
        lines.append(
            f"Key {i + 1} of {len(ceremony.keys)}: {key.label!r}, {key.describe()}, "
            f"{key.source.description}."
        )
        if key.role.payment:
            lines.append(f"  Role: {key.describe_role()}.")
        if key.key_block is not None:
            lines.append(
                f"  Its TR-31 block is read from {key.key_block.file} and opened under key "
                f"{key.key_block.kbpk!r}."
            )
        if key.kcv is not None:
            lines.append(f"  Its recorded check value is {key.kcv}.")
        for name, split in (("Components", key.split), ("New components", key.new_split)):
            if split is None or split.scheme is None:
                continue
            made = f", made in ceremony {split.made_in}" if split.made_in else ""
            lines.append(f"  {name}: {split.describe()}{made}.")
            for c in split.components:
                held = roster.who([c.custodian])
                if c.backup is not None:
                    held += f", backup {roster.who([c.backup])}"
                extra = f", check value {c.kcv}" if c.kcv is not None else ""
                extra += f", envelope {c.envelope}" if c.envelope else ""
                lines.append(f"    Component {c.index}: held by {held}{extra}.")
        if key.store_in_hsm:
            lines.append("  The key will be stored in the HSM.")
        for t in key.targets:
            where = "inside the HSM" if t.wrap is WrapPlace.HSM else "in software on this machine"
            lines.append(
                f"  Target {t.label!r}: {t.provider.value}, wrapped with {t.algorithm.value} "
                f"{where}; wrapping key from {t.import_key}."
            )
            pinned = t.pinned
            what = "root CA fingerprint" if t.pin_field == "root_ca_fingerprint" else "fingerprint"
            if pinned is not None:
                lines.append(f"    Pinned {what}: {pinned.groups()}.")
            else:
                lines.append(f"    No pinned {what} (rehearsal only).")
        lines.append("")
    planned = ceremony.planned_operations()
    if planned:
        lines.append(f"Manual clear-text operations, each needing two approvals ({len(planned)}):")
        lines += [f"  {op.describe()}" for op in planned]
    else:
        lines.append("No manual clear-text operation: keys never leave the HSM in clear.")
    lines += _printing_summary(ceremony)
    lines.append(f"Output folder: {info.output}.")
    lines.append(
        f"Custodian registry: {info.registry}." if info.registry else "Custodian registry: none."
    )
    return lines


def _printing_summary(ceremony: CeremonyFile) -> list[str]:
    """How components reach their custodians (docs/evidence.md, printing)."""
    if not ceremony.issues_components:
        return []
    queue = ceremony.printer.queue if ceremony.printer is not None else None
    if ceremony.rehearsal:
        unused = f" The printer {queue!r} is not used in a rehearsal." if queue else ""
        return [
            "Component forms: written into the bundle with the REHEARSAL watermark; each "
            f"component is also shown on screen.{unused}"
        ]
    if queue is None:
        return [
            "Component forms: no printer; each component is shown on screen to its custodian "
            "alone, who copies it by hand onto a blank form."
        ]
    return [
        f"Component forms: printed from memory on the CUPS printer {queue!r}, which must be "
        "attached locally (USB); a network printer needs two security officers to override, "
        "a printer that writes to a file is refused. The component is not shown on screen."
    ]
