"""The record's sections on keys and targets (4 and 5), as reportlab flowables."""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, Spacer

from ceremony.record import fields as F
from ceremony.record import layout as L
from ceremony.record.layout import WIDTH
from ceremony.record.layout import hex_groups as _groups
from ceremony.record.layout import hex_words as _words
from ceremony.record.layout import time_text as _time
from ceremony.record.model import Model


def keys(m: Model) -> list[Any]:
    """Section 4: each key, its attributes before and after, and what happened to it."""
    out: list[Any] = [CondPageBreak(60 * mm), L.markup("4. Keys", L.H2)]
    if not m.keys:
        out.append(L.para("No key was handled in this ceremony.", L.NOTE))
    for k in m.keys.values():
        block: list[Any] = [L.markup(f"Key {L.esc(k.label)}", L.H3)]
        rows: list[tuple[str, Any]] = [
            ("Label", k.label),
            (
                "Type and length",
                f"{k.type} {k.size}" if k.type != F.UNKNOWN else "not stated in this journal",
            ),
            ("Born", k.where),
            ("Check values", "; ".join(k.kcvs) or "-"),
        ]
        if k.role:
            rows.insert(2, ("Role", k.role))
        block.append(L.pairs(rows, (35 * mm, WIDTH - 35 * mm)))
        out.append(KeepTogether(block))
        names = sorted(set(k.attributes) | set(k.attributes_before))
        if names:
            arows: list[list[Any]] = [["PKCS#11 attribute", "before", "after"]]
            for name in names:
                before = (
                    F.show_value(k.attributes_before[name]) if name in k.attributes_before else "-"
                )
                after = F.show_value(k.attributes[name]) if name in k.attributes else "-"
                arows.append([name, before, after])
            out.append(Spacer(1, 2 * mm))
            out.append(L.grid(arows, [60 * mm, 60 * mm, 60 * mm]))
        if k.history:
            out.append(Spacer(1, 2 * mm))
            hrows: list[list[Any]] = [["entry", "what happened"]]
            hrows += [[str(seq), what] for seq, what in k.history]
            out.append(L.grid(hrows, [14 * mm, WIDTH - 14 * mm]))
        if k.components:
            out.append(Spacer(1, 2 * mm))
            crows: list[list[Any]] = [
                ["entry", "event", "index", "scheme", "custodian", "KCV", "envelope", "note"]
            ]
            alerts: list[int] = []
            for i, c in enumerate(k.components, start=1):
                crows.append(
                    [
                        str(c.seq),
                        c.event,
                        c.index + (f" of {c.count}" if c.count else ""),
                        c.scheme,
                        m.who(c.custodian) if c.custodian != F.UNKNOWN else F.UNKNOWN,
                        c.kcv,
                        c.envelope,
                        c.note,
                    ]
                )
                if "NOT" in c.note:
                    alerts.append(i)
            out.append(
                L.grid(
                    crows,
                    [11 * mm, 16 * mm, 14 * mm, 20 * mm, 38 * mm, 30 * mm, 22 * mm, 29 * mm],
                    alert_rows=alerts,
                )
            )
            out.append(
                L.markup(
                    "Components and shares are listed by index, custodian, KCV and envelope "
                    "serial. The component itself never appears in this record.",
                    L.NOTE,
                )
            )
    return out


def targets(m: Model) -> list[Any]:
    """Section 5: each cloud target, its import key, and the files written."""
    out: list[Any] = [CondPageBreak(60 * mm), L.markup("5. Targets and outputs", L.H2)]
    if not m.targets:
        out.append(L.para("No key was wrapped for a cloud target.", L.NOTE))
    for t in m.targets:
        words = "<br/>".join(L.esc(w) for w in _words(t.fingerprint))
        confirmed = "Root CA certificate SHA-256" if t.fingerprint_of else "Import key SHA-256"
        rows: list[tuple[str, Any]] = [
            ("Key", t.key),
            ("Provider", t.provider),
            ("Algorithm", t.method),
            (confirmed, L.para(_groups(t.fingerprint), L.CELL_MONO)),
            (
                "as words",
                Paragraph(words, L.CELL_MONO),
            ),
            ("Confirmed by", ", ".join(m.who(p) for p in t.confirmed_by) or "-"),
            ("Import key valid to", _time(t.valid_to)),
            ("Wrapped", t.where),
            ("Mechanisms", ", ".join(t.mechanisms) or "-"),
        ]
        if t.fingerprint_of:
            rows.insert(5, ("Wrapping key SHA-256", L.para(_groups(t.wrapping_key), L.CELL_MONO)))
        block: list[Any] = [
            L.markup(f"Target {L.esc(t.target)}", L.H3),
            L.pairs(rows, (35 * mm, WIDTH - 35 * mm)),
        ]
        if t.files:
            frows: list[list[Any]] = [["file", "SHA-256"]]
            frows += [[n, L.para(h, L.CELL_MONO)] for n, h in t.files]
            block += [Spacer(1, 2 * mm), L.grid(frows, [70 * mm, WIDTH - 70 * mm])]
        out.append(KeepTogether(block))
    if m.outputs:
        out.append(L.markup("Other output files", L.H3))
        orows: list[list[Any]] = [["entry", "file", "kind", "SHA-256"]]
        orows += [[str(o.seq), o.name, o.kind, L.para(o.sha256, L.CELL_MONO)] for o in m.outputs]
        out.append(L.grid(orows, [12 * mm, 55 * mm, 25 * mm, WIDTH - 92 * mm]))
    return out
