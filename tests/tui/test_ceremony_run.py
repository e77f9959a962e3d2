"""The TUI drives real ceremonies on a real SoftHSM2 token, end to end, with the keyboard only.

A rehearsal split-backup (an AES key drawn from the token's random generator, two XOR
components for two custodians) runs from the start screen to the finish screen; the journal the
TUI wrote verifies and ``ceremony verify`` passes on the signed record. Another run is aborted
with F10 and its journal verifies as aborted. A reconstitute takes the components back through
the entry screen (one typed, one scanned), and a re-split issues them anew; a generate-export
confirms three cloud import keys and wraps inside the HSM; a destroy removes that key. After
each of these runs, ``ceremony verify`` passes on the output folder the TUI wrote.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ceremony.core import journal
from ceremony.hsm import config
from ceremony.tui.main import MainApp
from ceremony.tui.modals import AbortModal, ErrorModal
from ceremony.tui.screens.approval import ApprovalScreen
from ceremony.tui.screens.base import RequestScreen
from ceremony.tui.screens.choice import ChoiceScreen
from ceremony.tui.screens.component_display import ComponentDisplayScreen, Phase
from ceremony.tui.screens.component_entry import ComponentEntryScreen
from ceremony.tui.screens.confirm import ConfirmScreen
from ceremony.tui.screens.finish import FinishScreen
from ceremony.tui.screens.import_key import ImportKeyScreen
from ceremony.tui.screens.secret import SecretScreen
from ceremony.tui.screens.text import TextScreen
from ceremony.tui.screens.working import WorkingScreen
from ceremony.tui.widgets.approval import ApprovalForm
from ceremony.tui.widgets.journal_panel import hash_lines
from ceremony.tui.widgets.who import WhoPicker
from tests.hsm.conftest import FixedPinPrompter
from tests.tui.conftest import STUCK, TOKEN_LABEL, burst
from tests.tui.screen_text import screen_text, static_text

pytestmark = [pytest.mark.usefixtures("cheap_scrypt"), pytest.mark.hsm, pytest.mark.slow]

DATA = Path(__file__).resolve().parent / "data"


def passphrase(person: str) -> str:
    return f"approval passphrase of {person}"


def ceremony_file(folder: Path, name: str = "rehearsal.toml", **replace: str) -> Path:
    text = (DATA / name).read_text("utf-8")
    text = text.replace('token_label = "ceremony-rehearsal"', 'token_label = "ceremony-tui"')
    for old, new in replace.items():
        text = text.replace(old, new)
    path = folder / "ceremony.toml"
    path.write_text(text, "utf-8")
    return path


def ceremony_verify(folder: Path | None) -> str:
    """Run ``ceremony verify`` (the auditor's command) on a folder the TUI wrote; it must pass."""
    assert folder is not None and folder.is_dir(), folder
    result = subprocess.run(
        [sys.executable, "-m", "ceremony", "verify", str(folder)],
        capture_output=True,
        text=True,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "PASS" in result.stdout, out
    return result.stdout


class Room:
    """The people at the keyboard: answers each screen as its person would.

    A PIN asked in halves (``login = "split-pin"``) is typed half by half, each half by whoever
    its screen offers first. An envelope is sealed under the serial the ceremony file gives it
    and recorded in ``envelopes``; a checker later reads the serial from there. A step listed in
    ``misread`` is answered wrong once, and the error modal that refuses it is expected.
    """

    def __init__(self, pins: FixedPinPrompter, *, misread: tuple[str, ...] = ()) -> None:
        self.pins = pins
        self.approvals: list[tuple[str, list[str]]] = []  # (step title, names offered)
        self.shown: dict[int, list[str]] = {}  # component index -> lines copied down
        self.component_texts: dict[int, str] = {}
        self.entered: list[int] = []
        self.screens: list[str] = []
        self.steps: list[str] = []  # each request step answered, in order (asked again: twice)
        self.offered: dict[str, list[str]] = {}  # step -> who its picker offered (last time)
        self.answered_by: dict[str, str] = {}  # step -> who picked themselves
        self.envelopes: dict[str, str] = {}  # "key/index" -> the serial printed on the envelope
        self.typed: dict[str, list[str]] = {}  # public step -> each value typed
        self.misread = set(misread)
        self.refusals: list[tuple[str, str]] = []  # (step refused, the error modal's message)
        self._refusal_due: str | None = None

    async def answer(self, pilot: object, app: MainApp) -> None:
        from textual.pilot import Pilot

        assert isinstance(pilot, Pilot)
        screen = app.screen
        self.screens.append(type(screen).__name__)
        if isinstance(screen, ErrorModal):
            message = static_text(app, "#error-message")
            assert self._refusal_due is not None, f"unexpected error modal: {message}"
            self.refusals.append((self._refusal_due, message))
            self._refusal_due = None
            await pilot.press("enter")
            await pilot.pause()
            return
        if isinstance(screen, RequestScreen):
            self.steps.append(screen.request.step)
        if isinstance(screen, RequestScreen) and screen.picks_who:
            step = screen.request.step
            self.offered[step] = [c.id for c in screen.query_one(WhoPicker).candidates]
            await pilot.press("enter")  # the first candidate answers
            await pilot.pause()
            chosen = screen.answerer()
            assert chosen is not None
            self.answered_by[step] = chosen
        if isinstance(screen, ConfirmScreen):
            await pilot.press("y")
        elif isinstance(screen, SecretScreen):
            step = screen.request.step
            if step.startswith("roll-call/"):
                person = step.split("/")[1]
                await burst(pilot, passphrase(person) + "\n")
            elif step.startswith("hsm/"):
                pin = self.pins.so_pin if "/so-pin" in step else self.pins.user_pin
                if step.endswith("/half-1"):  # the halves join, in order, into the PIN
                    pin = pin[: len(pin) // 2]
                elif step.endswith("/half-2"):
                    pin = pin[len(pin) // 2 :]
                await burst(pilot, pin + "\n")
            else:
                raise AssertionError(f"unexpected secret step {step}")
        elif isinstance(screen, TextScreen):
            step = screen.request.step
            if step == "clock":
                value = "same"
            elif step.startswith("component/") and step.endswith("/envelope"):
                # The custodian seals the form in the envelope the file lists, types its serial.
                assert screen.request.envelope is not None
                value = screen.request.envelope
                self.envelopes[step.split("/", 1)[1].rsplit("/", 1)[0]] = value
            elif step.startswith("entry/") and step.endswith("/envelope-serial"):
                # A checker reads the serial printed on the envelope the custodian brought.
                value = self.envelopes[step.split("/", 1)[1].rsplit("/", 1)[0]]
            else:
                raise AssertionError(f"unexpected text step {step}")
            if step in self.misread:  # read wrong once: the machine refuses it
                self.misread.discard(step)
                value = value[:-1] + ("7" if value[-1] != "7" else "1")
                self._refusal_due = step
            self.typed.setdefault(step, []).append(value)
            await burst(pilot, value + "\n")
        elif isinstance(screen, ChoiceScreen):
            await pilot.press("enter")
        elif isinstance(screen, ApprovalScreen | ImportKeyScreen):
            if isinstance(screen, ImportKeyScreen):
                await pilot.press("y")  # the fingerprint matches the console
                await pilot.pause()
            form = screen.query_one(ApprovalForm)
            names = [a.id for a in form.approvers]
            self.approvals.append((screen.step_title or "", names))
            await pilot.press("enter")  # the first one offered
            await pilot.pause()
            chosen = form.chosen
            assert chosen is not None
            await burst(pilot, passphrase(chosen) + "\n")
        elif isinstance(screen, ComponentDisplayScreen):
            assert screen.phase is Phase.SHOWN  # shown after the custodian's Y on privacy
            text = screen_text(app)
            index = len(self.shown) + 1
            lines = [line for line in text.splitlines() if re.match(r"^ (\d\d|SUM): ", line)]
            self.shown[index] = [line.strip() for line in lines]
            # The custodian copies it down; a key in the first KEY_GUARD seconds would be ignored.
            await pilot.pause(screen.KEY_GUARD)
            await pilot.press("space")  # hide it
            await pilot.pause()
            assert screen.phase is Phase.HIDDEN
            assert not any(line.strip() in screen_text(app) for line in lines)
            await burst(pilot, screen.check.hex + "\n")
        elif isinstance(screen, ComponentEntryScreen):
            index = screen.header.index
            text = self.component_texts[index]
            if index == 1:  # typed from the paper: the KCV, then each line with its letter
                lines = text.splitlines()
                kcv_line = next(line for line in lines if line.startswith("KCV:"))
                await burst(pilot, kcv_line.split(":", 1)[1].split("(")[0].strip() + "\n")
                body = lines[lines.index(kcv_line) + 1 :]
                for line in body:
                    await burst(pilot, line.split(":", 1)[1].strip() + "\n")
            else:  # scanned: the QR payload into the first field
                await burst(pilot, text)
            await pilot.pause()
            self.entered.append(index)
            await pilot.press("f5")
        else:
            raise AssertionError(f"unexpected screen {screen!r}")
        await pilot.pause()


async def run_to_finish(app: MainApp, room: Room, pilot: object, seconds: float = STUCK) -> None:
    """Answer every screen until the finish screen (engine work in between may take a while)."""
    import time

    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await pilot.pause()
        screen = app.screen
        if isinstance(screen, FinishScreen):
            return
        if isinstance(screen, WorkingScreen) or not screen.is_mounted:
            await pilot.pause(0.05)
            continue
        await room.answer(pilot, app)
    raise AssertionError(f"no finish screen after {seconds} s: {room.screens[-5:]}")


async def until_screen(
    app: MainApp, pilot: object, kind: type[Any], *, other_than: Any = None, seconds: float = STUCK
) -> Any:
    """Wait until the app shows a mounted screen of ``kind`` other than ``other_than`` (one just
    answered, still on its way out); the engine works in between."""
    import time

    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await pilot.pause()
        screen = app.screen
        if isinstance(screen, kind) and screen.is_mounted and screen is not other_than:
            return screen
        await pilot.pause(0.05)
    raise AssertionError(f"no {kind.__name__} after {seconds} s: {app.screen!r}")


async def test_a_rehearsal_split_backup_end_to_end(token: FixedPinPrompter, tmp_path: Path) -> None:
    path = ceremony_file(tmp_path)
    app = MainApp(path)
    room = Room(token)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")  # the start screen shows the summary; F5 starts
        await run_to_finish(app, room, pilot)
        finish = app.screen
        assert isinstance(finish, FinishScreen)
        assert finish.view.finished
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "The ceremony is finished." in text
        final = finish.view.final_hash
        assert final is not None
        assert all(line in text for line in hash_lines(final))  # hex, 4 groups a line
        assert static_text(app, "#finish-words") == "\n".join(journal.hash_word_lines(final))
        verify = static_text(app, "#finish-verify")
        # The engine signed the record in the token: `ceremony verify` checks the whole folder.
        assert finish.view.signed_record is not None
        assert verify.startswith("ceremony verify: PASS ("), verify  # the verdict, one line
    # Each custodian saw their own component, and the second approval never offered the first
    # approver again.
    assert sorted(room.shown) == [1, 2]
    for _title, names in room.approvals:
        assert len(names) == len(set(names))
    seconds = [names for title, names in room.approvals if title.startswith("approval 2")]
    firsts = [names[0] for title, names in room.approvals if title.startswith("approval 1")]
    for first, second in zip(firsts, seconds, strict=True):
        assert first not in second
    # The journal the TUI wrote verifies, closed with "finished", with the hash shown.
    assert finish.view.journal is not None
    verified = journal.verify(finish.view.journal.read_bytes(), require_closed=True)
    assert verified.finished and verified.final_hash == final
    events = [e.event for e in verified.entries]
    assert events.count("component_issued") == 2 and events.count("approval") == 3
    # And `ceremony verify` (the auditor's command) passes on what the TUI wrote.
    ceremony_verify(finish.view.output_folder)
    # The components typed back parse, and the key they make has the journaled KCV.
    texts = ["\n".join(lines) for lines in room.shown.values()]
    assert all(len(t.splitlines()) == 3 for t in texts)  # 2 value lines and SUM


async def test_abort_is_journaled_and_the_journal_verifies(
    token: FixedPinPrompter, tmp_path: Path
) -> None:
    path = ceremony_file(tmp_path)
    app = MainApp(path)
    room = Room(token)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        answered = None
        for _ in range(3):  # a few roll-call steps, each on its own screen
            answered = await until_screen(app, pilot, RequestScreen, other_than=answered)
            await room.answer(pilot, app)
        await until_screen(app, pilot, RequestScreen, other_than=answered)
        await pilot.press("f10")
        await until_screen(app, pilot, AbortModal)
        await pilot.press("y")
        await until_screen(app, pilot, FinishScreen)
        finish = app.screen
        assert isinstance(finish, FinishScreen)
        assert not finish.view.finished
        assert "aborted by the operator" in (finish.view.reason or "")
        assert finish.view.journal is not None
        verified = journal.verify(finish.view.journal.read_bytes(), require_closed=True)
        assert verified.last.event == "aborted"
        assert "aborted by the operator" in str(verified.last.data["reason"])
        await pilot.press("q")
    assert app.return_code == 1


RECONSTITUTE = """
[ceremony]
id = "2025-07-tui-rebuild"
type = "reconstitute"
site = "Test bench"
purpose = "Rehearse the TUI: rebuild the demo key from its two components."
output = "out-rebuild"
rehearsal = true
"""


def copy_forms(monkeypatch: pytest.MonkeyPatch) -> dict[int, str]:
    """Each component the TUI shows, as its custodian copies it onto the paper form (by index)."""
    from ceremony.tui.driver import TuiDelivery

    texts: dict[int, str] = {}
    show = TuiDelivery.show

    def copy_down(self: TuiDelivery, sheet: Any) -> None:  # the custodian's paper form
        texts[sheet.index] = "\n".join(sheet.lines) + "\n"
        show(self, sheet)

    monkeypatch.setattr(TuiDelivery, "show", copy_down)
    return texts


def recorded_kcv(split_journal: Path) -> str:
    """The KCV the split-backup journaled for its key ("method value"), for the rebuild file."""
    entries = journal.verify(split_journal.read_bytes(), require_closed=True).entries
    generated = next(e for e in entries if e.event == "key_generated").data["kcvs"]
    assert isinstance(generated, list) and isinstance(generated[0], dict)
    return f"{generated[0]['kcv_method']} {generated[0]['kcv']}"


def rebuild_file(
    folder: Path,
    split: Path,
    recorded: str,
    *,
    label: str = "demo-zmk",
    envelopes: tuple[str | None, str | None] = (None, None),
) -> Path:
    """A reconstitute of the key ``split`` backed up, by the same people, from its components."""
    people = split.read_text("utf-8").split("[[participants]]", 1)[1].split("[hsm]")[0]
    components = "".join(
        f'\n[[keys.split.components]]\ncustodian = "{custodian}"\n'
        + (f'envelope = "{envelope}"\n' if envelope else "")
        for custodian, envelope in zip(("ebrown", "fgarcia"), envelopes, strict=True)
    )
    rebuild = folder / "rebuild.toml"
    rebuild.write_text(
        RECONSTITUTE
        + "\n[[participants]]"
        + people
        + '[hsm]\nmodule = "/usr/lib/softhsm/libsofthsm2.so"\ntoken_label = "ceremony-tui"\n\n'
        + f'[[keys]]\nlabel = "{label}"\ntype = "AES"\nbits = 128\nkcv = "{recorded}"\n'
        + "store_in_hsm = true\n\n"
        + '[keys.split]\nscheme = "xor"\nmade_in = "2025-07-tui-rehearsal"\n'
        + components,
        "utf-8",
    )
    return rebuild


async def test_reconstitute_and_re_split_take_components_through_the_entry_screen(
    token: FixedPinPrompter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = copy_forms(monkeypatch)
    # 1. The split-backup, through the TUI.
    split = ceremony_file(tmp_path)
    app = MainApp(split)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        await run_to_finish(app, Room(token), pilot)
        finish = app.screen
        assert isinstance(finish, FinishScreen)
        assert finish.view.finished, finish.view.reason
        assert finish.view.journal is not None
        split_journal = finish.view.journal
        ceremony_verify(finish.view.output_folder)
    # 2. The reconstitute: custodian 1 types their form, custodian 2 scans its QR code.
    rebuild = rebuild_file(tmp_path, split, recorded_kcv(split_journal))
    room = Room(token)
    room.component_texts = texts
    app = MainApp(rebuild)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        await run_to_finish(app, room, pilot)
        finish = app.screen
        assert isinstance(finish, FinishScreen)
        assert finish.view.finished, finish.view.reason
        assert finish.view.journal is not None
        verified = journal.verify(finish.view.journal.read_bytes(), require_closed=True)
        ceremony_verify(finish.view.output_folder)
    assert room.entered == [1, 2]
    events = [e.event for e in verified.entries]
    assert events.count("component_entered") == 2
    combined = next(e for e in verified.entries if e.event == "key_combined").data
    assert combined["matches_recorded"] is True
    assert "key_imported" in events
    # 3. The re-split: the same components entered again, a new set issued to two people who
    # never held one; the old ones are listed to destroy.
    newcomers = "".join(
        f'\n[[participants]]\nid = "{i}"\nname = "{n}"\nrole = "key-custodian"\n'
        f'id_reference = "staff badge {b}"\n'
        for i, n, b in (("gkim", "Grace Kim", "0213"), ("hsato", "Hiro Sato", "0214"))
    )
    text = rebuild.read_text("utf-8")
    text = text.replace('id = "2025-07-tui-rebuild"', 'id = "2025-07-tui-resplit"')
    text = text.replace('type = "reconstitute"', 'type = "re-split"')
    text = text.replace('output = "out-rebuild"', 'output = "out-resplit"')
    text = text.replace("store_in_hsm = true\n", "")
    text = text.replace("[hsm]", newcomers + "\n[hsm]", 1)
    text += '\n[keys.new_split]\nscheme = "xor"\n'
    text += '\n[[keys.new_split.components]]\ncustodian = "gkim"\n'
    text += '\n[[keys.new_split.components]]\ncustodian = "hsato"\n'
    resplit = tmp_path / "resplit.toml"
    resplit.write_text(text, "utf-8")
    old_texts = dict(texts)
    room = Room(token)
    room.component_texts = old_texts
    app = MainApp(resplit)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        await run_to_finish(app, room, pilot)
        finish = app.screen
        assert isinstance(finish, FinishScreen)
        assert finish.view.finished, finish.view.reason
        assert finish.view.journal is not None
        verified = journal.verify(finish.view.journal.read_bytes(), require_closed=True)
        ceremony_verify(finish.view.output_folder)
    events = [e.event for e in verified.entries]
    assert events.count("component_entered") == 2 and events.count("component_issued") == 2
    issued = [e.data["custodian"] for e in verified.entries if e.event == "component_issued"]
    assert issued == ["gkim", "hsato"]
    assert events.count("component_to_destroy") == 2


async def test_generate_export_then_destroy_through_the_tui(
    token: FixedPinPrompter, tmp_path: Path
) -> None:
    from tests.engine.helpers import rehearsal_doc, write_ceremony, write_imports

    label = f"dek-{secrets.token_hex(3)}"
    doc = rehearsal_doc(
        "generate-export", module=config.DEFAULT_MODULE, label=TOKEN_LABEL, ceremony_id="tui-gen"
    )
    doc["keys"][0]["label"] = label
    write_imports(tmp_path)
    path = write_ceremony(tmp_path, doc, "generate-export.toml")
    room = Room(token)
    app = MainApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        await run_to_finish(app, room, pilot)
        finish = app.screen
        assert isinstance(finish, FinishScreen)
        assert finish.view.finished, finish.view.reason
        assert finish.view.journal is not None
        entries = journal.verify(finish.view.journal.read_bytes(), require_closed=True).entries
        ceremony_verify(finish.view.output_folder)
    # Each import key was confirmed by two people on their own import-key screens, which showed
    # its fingerprint; nobody was offered twice.
    confirmations = [names for title, names in room.approvals if "import key" in title.lower()]
    assert len(confirmations) == 6
    confirmed = [e.data for e in entries if e.event == "import_key_confirmed"]
    assert [c["provider"] for c in confirmed] == ["aws", "azure", "gcp"]
    assert sum(e.event == "wrapped" for e in entries) == 3
    generated = next(e.data for e in entries if e.event == "key_generated")
    kcvs = generated["kcvs"]
    assert isinstance(kcvs, list) and isinstance(kcvs[0], dict)

    destroy = rehearsal_doc(
        "destroy", module=config.DEFAULT_MODULE, label=TOKEN_LABEL, ceremony_id="tui-destroy"
    )
    destroy["ceremony"]["output"] = "out-destroy"
    destroy["keys"] = [
        {
            "label": label,
            "type": "AES",
            "bits": 256,
            "kcv": f"{kcvs[0]['kcv_method']} {kcvs[0]['kcv']}",
        }
    ]
    path = write_ceremony(tmp_path, destroy, "destroy.toml")
    app = MainApp(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        await run_to_finish(app, Room(token), pilot)
        finish = app.screen
        assert isinstance(finish, FinishScreen)
        assert finish.view.finished, finish.view.reason
        assert finish.view.journal is not None
        entries = journal.verify(finish.view.journal.read_bytes(), require_closed=True).entries
        ceremony_verify(finish.view.output_folder)
    assert any(e.event == "key_destroyed" for e in entries)
