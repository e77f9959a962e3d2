"""A restarted ceremony's link to the aborted ones before it: found, checked and accounted for.

A rerun after an interruption is a new ceremony (``<id>.r<n>``) whose genesis entry names the
aborted journal by file name, entry count, final hash and SHA-256 (``restarts``). ``verify``
checks that link in the bundle folder, reports each aborted ceremony as aborted, and checks
that this ceremony destroyed every key the aborted ones left on the token and voided every
component they issued or began to show. Pure reading, apart from the files of the folder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from ceremony.core import journal
from ceremony.core.journal import JournalVerifyError, JsonValue, Verified
from ceremony.record import attempts as A
from ceremony.record import fields as F
from ceremony.record.verdict import Report

MAX_JOURNAL = 64 * 1024 * 1024
_SHOWN = ("show-component", "print-component")
_EXPOSED = ("component_issued", "component_printed", "envelope_sealed")


def _link(first_line: bytes) -> Mapping[str, JsonValue] | None:
    try:
        entry = journal.parse_canonical(first_line)
    except (ValueError, RecursionError):  # a hostile first line: deeply nested, or not JSON
        return None
    data = entry.get("data") if isinstance(entry, dict) else None
    link = data.get("restarts") if isinstance(data, dict) else None
    return link if isinstance(link, dict) else None


def current_journals(paths: Iterable[Path]) -> list[Path]:
    """The journals no other journal among ``paths`` restarts: the last attempt of each chain."""
    paths = list(paths)
    named: set[str] = set()
    for path in paths:
        if not path.is_file():
            continue  # a FIFO or a device under a journal's name would block the read
        try:
            with path.open("rb") as f:
                first = f.readline(journal.MAX_LINE + 1)
        except OSError:
            continue
        link = _link(first.rstrip(b"\n"))
        if link is not None and isinstance(link.get("journal"), str):
            named.add(str(link["journal"]))
    return [p for p in paths if p.name not in named]


def _read(path: Path) -> bytes | None:
    try:
        if path.stat().st_size > MAX_JOURNAL:
            return None
        return path.read_bytes()
    except OSError:
        return None


def check_restart(report: Report, verified: Verified, folder: Path | None) -> set[str]:
    """Report lines for the chain of aborted ceremonies this one restarts; the files it explains.

    Returns the names (relative to ``folder``) of the aborted journals and of the outputs they
    recorded whose SHA-256 matched: they belong in the folder though this journal never names
    them.
    """
    link = verified.entries[0].data.get("restarts")
    if link is None:
        return set()
    check = "restart link"
    if not isinstance(link, dict):
        report.add(check, False, "the genesis entry's restarts field is not a link")
        return set()
    if folder is None:
        report.not_checkable(
            check,
            f"restarts the aborted ceremony {F.text(link, 'ceremony')} (final hash "
            f"{F.text(link, 'final_hash')[:16]}...); give the bundle folder to check its journal",
        )
        return set()
    accounted: set[str] = set()
    chain: list[Verified] = []
    current: Mapping[str, JsonValue] | None = link
    while current is not None:
        name = F.text(current, "journal")
        path = folder / name
        data = _read(path) if "/" not in name and path.is_file() else None
        if data is None:
            report.add(check, False, f"the aborted journal {name} is missing from the bundle")
            return accounted
        try:
            earlier = journal.verify(data, require_closed=True)
        except JournalVerifyError as ex:
            report.add(check, False, f"the aborted journal {name} does not verify: {ex.message}")
            return accounted
        problems = []
        if earlier.ceremony_id != current.get("ceremony"):
            problems.append(f"it belongs to ceremony {earlier.ceremony_id}")
        if earlier.final_hash != current.get("final_hash"):
            problems.append("its final hash is not the one the restart recorded")
        if hashlib.sha256(data).hexdigest() != current.get("journal_sha256"):
            problems.append("its SHA-256 is not the one the restart recorded")
        if len(earlier.entries) != current.get("entries"):
            problems.append("its entry count is not the one the restart recorded")
        if earlier.last.event != journal.ABORTED:
            problems.append("it does not end aborted")
        if problems:
            report.add(f"{check} ({name})", False, "; ".join(problems))
            return accounted
        report.add(
            f"aborted ceremony {earlier.ceremony_id}",
            True,
            f"ABORTED at entry {earlier.last.seq}: {F.text(earlier.last.data, 'reason')}; its "
            f"journal {name} is linked by final hash and SHA-256; nothing of it is relied on",
        )
        accounted.add(name)
        accounted |= _outputs(report, folder, earlier)
        chain.insert(0, earlier)
        nxt = earlier.entries[0].data.get("restarts")
        current = nxt if isinstance(nxt, dict) else None
    _cleaned_up(report, chain, verified)
    _earlier_attempts(report, chain, verified)
    return accounted


def _earlier_attempts(report: Report, chain: list[Verified], verified: Verified) -> None:
    """Each failed attempt of the aborted journals, listed, and repeated by the restart as is."""
    found = [(e.ceremony_id, a) for e in chain for a in A.read(e.entries)]
    for ceremony, a in found:
        report.add(f"failed attempt, {ceremony} entry {a.seq}", True, A.describe(a))
    said = [(a.ceremony, a.seq, a.kind, a.participants) for a in A.read_earlier(verified.entries)]
    held = [(c, a.seq, a.kind, a.participants) for c, a in found]
    if not found and not said:
        return
    report.add(
        "failed attempts of the aborted ceremonies",
        said == held,
        f"{len(held)} in the aborted journal(s), each repeated by the restart's recovery entry"
        if said == held
        else f"the aborted journals hold {len(held)} failed attempt(s) and the restart's "
        f"recovery entry repeats {len(said)}, not the same",
    )


def _outputs(report: Report, folder: Path, earlier: Verified) -> set[str]:
    found: set[str] = set()
    bad: list[str] = []
    for name, digest in _files(earlier):
        path = folder / name
        data = _read(path) if path.is_file() and not path.is_symlink() else None
        if data is None:
            continue  # never written whole, or cleaned away: nothing to account for
        if hashlib.sha256(data).hexdigest() == digest:
            found.add(name)
        else:
            bad.append(name)
    if bad:
        report.add(
            f"outputs of aborted ceremony {earlier.ceremony_id}",
            False,
            "changed since they were journaled: " + ", ".join(bad),
        )
    return found


def _files(earlier: Verified) -> list[tuple[str, str]]:
    files = []
    for e in earlier.entries:
        d = e.data
        if e.event == "output_written":
            files.append((F.text(d, "name"), F.text(d, "sha256")))
        elif e.event == "wrapped" and isinstance(d.get("files"), list):
            for f in d["files"]:  # type: ignore[union-attr]
                if isinstance(f, dict):
                    files.append((F.text(f, "name"), F.text(f, "sha256")))
    return files


def _left(chain: list[Verified]) -> tuple[set[str], set[tuple[str, str, int]]]:
    """Keys still on the token and components still valid after the aborted attempts."""
    keys: set[str] = set()
    components: set[tuple[str, str, int]] = set()
    for verified in chain:
        asked: dict[str, str] = {}  # token calls the attempt died inside (label -> call)
        for e in verified.entries:
            d, label = e.data, F.text(e.data, "key")
            if e.event == "token_call":
                asked[label] = F.text(d, "call")
            elif e.event in ("key_generated", "key_imported", "key_destroyed"):
                asked.pop(label, None)
            if e.event == "key_imported" or (
                e.event == "key_generated" and d.get("where") == "hsm"
            ):
                keys.add(label)
            elif e.event in ("key_destroyed", "orphan_key_absent"):
                keys.discard(label)
            elif e.event in _EXPOSED or (e.event == "approval" and d.get("operation") in _SHOWN):
                index = d.get("index")
                if isinstance(index, int):
                    split_set = d.get("split_set")
                    owner = split_set if isinstance(split_set, str) else verified.ceremony_id
                    components.add((label, owner, index))
            elif e.event == "components_voided":
                components -= _voided(e.data)
        # A create the attempt died inside may have left the key: the restart must look.
        keys |= {label for label, call in asked.items() if call != "destroy-key"}
    return keys, components


def _voided(d: Mapping[str, JsonValue]) -> set[tuple[str, str, int]]:
    items = d.get("components")
    found = set()
    for c in items if isinstance(items, list) else []:
        index = c.get("index") if isinstance(c, dict) else None
        if isinstance(index, int):
            found.add((F.text(d, "key"), F.text(d, "split_set"), index))
    return found


def _cleaned_up(report: Report, chain: list[Verified], verified: Verified) -> None:
    keys, components = _left(chain)
    for e in verified.entries:
        if e.event in ("key_destroyed", "orphan_key_absent") and "left_by" in e.data:
            keys.discard(F.text(e.data, "key"))
        elif e.event == "components_voided":
            components -= _voided(e.data)
    problems = []
    if keys:
        problems.append("key(s) left on the token and never destroyed: " + ", ".join(sorted(keys)))
    if components:
        problems.append(
            "component(s) issued and never voided: "
            + ", ".join(f"{k} {s} #{i}" for k, s, i in sorted(components))
        )
    report.add(
        "recovery after the aborted ceremony",
        not problems,
        "; ".join(problems)
        or "every key the aborted ceremony left on the token was destroyed and every component "
        "it issued or began to show was voided, each under two approvals",
    )
