"""More ceremonies the TUI drives end to end on the real SoftHSM2 token.

A split-backup logs in with a split PIN: two security officers each type one half of the PIN on
their own screen, and the second half's screen never offers the officer who typed the first. A
split-backup seals each component in a numbered envelope; the reconstitute of that key has an
officer or witness read each serial off its envelope (a misread one is refused in the error modal
and asked again) and judge the seal before the component is entered. ``ceremony verify`` passes
on every folder the TUI wrote.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from ceremony.core import journal
from ceremony.tui.main import MainApp
from ceremony.tui.screens.finish import FinishScreen
from tests.hsm.conftest import FixedPinPrompter
from tests.tui.test_ceremony_run import (
    Room,
    ceremony_file,
    ceremony_verify,
    copy_forms,
    rebuild_file,
    recorded_kcv,
    run_to_finish,
)

pytestmark = [pytest.mark.usefixtures("cheap_scrypt"), pytest.mark.hsm, pytest.mark.slow]

TOKEN = 'token_label = "ceremony-tui"'


async def run(path: Path, room: Room) -> tuple[journal.Verified, Path]:
    """Start the ceremony at ``path`` in the TUI and answer to the end; it finishes, its journal
    verifies and ``ceremony verify`` passes on its output folder. Returns the journal's path too.
    """
    app = MainApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        await run_to_finish(app, room, pilot)
        finish = app.screen
        assert isinstance(finish, FinishScreen)
        assert finish.view.finished, finish.view.reason
        assert finish.view.journal is not None and finish.view.output_folder is not None
        written = finish.view.journal
        verified = journal.verify(written.read_bytes(), require_closed=True)
        folder = finish.view.output_folder
    ceremony_verify(folder)
    return verified, written


async def test_a_split_pin_is_typed_in_halves_by_two_officers(
    token: FixedPinPrompter, tmp_path: Path
) -> None:
    path = ceremony_file(tmp_path, **{TOKEN: TOKEN + '\nlogin = "split-pin"'})
    room = Room(token)
    verified, _ = await run(path, room)
    halves = [step for step in room.steps if step.startswith("hsm/") and "/half-" in step]
    assert halves and not any(step.endswith("-pin") for step in room.steps)
    for role in {step.rsplit("/", 1)[0] for step in halves}:  # hsm/user-pin (and so-pin)
        first, second = f"{role}/half-1", f"{role}/half-2"
        assert room.steps.index(first) < room.steps.index(second)
        one = room.answered_by[first]
        assert one in room.offered[first] and len(room.offered[first]) == 2
        # The second half's screen offers the other officer only: never the first one again.
        assert one not in room.offered[second]
        assert room.offered[second] == [o for o in room.offered[first] if o != one]
        assert room.answered_by[second] in room.offered[second]
        assert room.answered_by[second] != one
    opened = next(e.data for e in verified.entries if e.event == "hsm_opened")
    assert opened["login"] == "split-pin"
    officers = opened["officers"]
    assert isinstance(officers, list) and len(officers) == 2 and len(set(officers)) == 2


async def test_envelope_serials_are_sealed_then_read_back_before_entry(
    token: FixedPinPrompter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = copy_forms(monkeypatch)
    label = f"env-zmk-{secrets.token_hex(3)}"
    serials = ("TUI-ENV-0101", "TUI-ENV-0102")
    custodian = 'custodian = "{}"\n'
    split = ceremony_file(
        tmp_path,
        **{
            'label = "demo-zmk"': f'label = "{label}"',
            custodian.format("ebrown"): custodian.format("ebrown") + f'envelope = "{serials[0]}"\n',
            custodian.format("fgarcia"): custodian.format("fgarcia")
            + f'envelope = "{serials[1]}"\n',
        },
    )
    # 1. The split-backup: each custodian seals their form and types the envelope's serial.
    sealer = Room(token)
    verified, split_journal = await run(split, sealer)
    assert sealer.envelopes == {f"{label}/1": serials[0], f"{label}/2": serials[1]}
    sealed = [e.data for e in verified.entries if e.event == "envelope_sealed"]
    assert [(s["index"], s["custodian"], s["envelope"]) for s in sealed] == [
        (1, "ebrown", serials[0]),
        (2, "fgarcia", serials[1]),
    ]
    issued = [e.data for e in verified.entries if e.event == "component_issued"]
    assert [i["envelope"] for i in issued] == list(serials)
    # 2. The reconstitute: before each envelope is opened, a checker types the serial read on
    # it; the first one is misread, refused in the error modal and asked again.
    misread = f"entry/{label}/1/envelope-serial"
    rebuild = rebuild_file(
        tmp_path, split, recorded_kcv(split_journal), label=label, envelopes=serials
    )
    room = Room(token, misread=(misread,))
    room.component_texts = texts
    room.envelopes = dict(sealer.envelopes)  # the envelopes the custodians bring back
    verified, _ = await run(rebuild, room)
    assert room.entered == [1, 2]
    assert room.typed[misread] == ["TUI-ENV-0107", serials[0]]
    assert room.typed[f"entry/{label}/2/envelope-serial"] == [serials[1]]
    assert len(room.refusals) == 1
    step, message = room.refusals[0]
    assert step == misread
    assert "TUI-ENV-0107" in message and "not the one recorded" in message
    at = room.steps.index(misread)
    assert room.steps[at + 1] == misread  # asked again, on the same screen type
    # Each seal was judged intact by whoever read its serial; only then was it entered.
    for index in (1, 2):
        assert room.steps.index(f"entry/{label}/{index}/envelope") > room.steps.index(
            f"entry/{label}/{index}/envelope-serial"
        )
    checked = [e.data for e in verified.entries if e.event == "envelope_checked"]
    assert [(c["index"], c["envelope"], c["intact"], c["serial_matches"]) for c in checked] == [
        (1, serials[0], True, True),
        (2, serials[1], True, True),
    ]
    for c in checked:
        assert c["recorded"] == c["envelope"] and c["recorded_in"] == "ceremony-file"
        assert c["checked_by"] == room.answered_by[f"entry/{label}/{c['index']}/envelope-serial"]
    events = [e.event for e in verified.entries]
    for index in (1, 2):
        check = next(
            i
            for i, e in enumerate(verified.entries)
            if e.event == "envelope_checked" and e.data["index"] == index
        )
        entered = next(
            i
            for i, e in enumerate(verified.entries)
            if e.event == "component_entered" and e.data["index"] == index
        )
        assert check < entered
    assert "key_combined" in events and "key_imported" in events
