"""The TUI drives real ceremonies on a real SoftHSM2 token, end to end, with the keyboard only:
one run per ceremony type (what the engine decides is tested headless in tests/engine).

A rehearsal split-backup (an AES key drawn from the token's random generator, two XOR
components for two custodians, each sealed in a numbered envelope) runs from the start screen
to the finish screen; the journal the TUI wrote verifies and ``ceremony verify`` passes on the
signed record. Another run is aborted with F10 and its journal verifies as aborted. A
reconstitute reads each envelope's serial back (a misread one is refused in the error modal and
asked again) and takes the components through the entry screen (one typed, one scanned), and a
re-split issues them anew; a generate-export logs in with a PIN split between two officers,
confirms three cloud import keys and wraps inside the HSM; a destroy removes that key. After
each of these runs, ``ceremony verify`` passes on the output folder the TUI wrote.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
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
from tests.conftest import STUCK
from tests.hsm.conftest import FixedPinPrompter
from tests.tui.conftest import TOKEN_LABEL, burst
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


@dataclass(frozen=True)
class ImportKeySeen:
    """An import-key screen as its officer saw it: who it offered, who confirmed, its text."""

    screen: ImportKeyScreen
    offered: list[str]
    chosen: str
    text: str


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
        self.import_keys: list[ImportKeySeen] = []  # each import-key screen confirmed
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
            text = screen_text(app)
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
            if isinstance(screen, ImportKeyScreen):
                self.import_keys.append(ImportKeySeen(screen, names, chosen, text))
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


async def test_split_backup_reconstitute_and_re_split_end_to_end(
    token: FixedPinPrompter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = copy_forms(monkeypatch)
    serials = ("TUI-ENV-0101", "TUI-ENV-0102")
    custodian = 'custodian = "{}"\n'
    split = ceremony_file(
        tmp_path,
        **{
            custodian.format(who): custodian.format(who) + f'envelope = "{serial}"\n'
            for who, serial in zip(("ebrown", "fgarcia"), serials, strict=True)
        },
    )
    # 1. The split-backup, through the TUI; each custodian seals their form in an envelope.
    app = MainApp(split)
    room = Room(token)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")  # the start screen shows the summary; F5 starts
        await run_to_finish(app, room, pilot)
        finish = app.screen
        assert isinstance(finish, FinishScreen)
        assert finish.view.finished, finish.view.reason
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
        assert finish.view.journal is not None
        split_journal = finish.view.journal
        ceremony_verify(finish.view.output_folder)
    # Each custodian saw their own component, and the second approval never offered the first
    # approver again.
    assert sorted(room.shown) == [1, 2]
    assert all(len(lines) == 3 for lines in room.shown.values())  # 2 value lines and SUM
    for _title, names in room.approvals:
        assert len(names) == len(set(names))
    seconds = [names for title, names in room.approvals if title.startswith("approval 2")]
    firsts = [names[0] for title, names in room.approvals if title.startswith("approval 1")]
    for first, second in zip(firsts, seconds, strict=True):
        assert first not in second
    # The journal the TUI wrote verifies, closed with "finished", with the hash shown.
    verified = journal.verify(split_journal.read_bytes(), require_closed=True)
    assert verified.finished and verified.final_hash == final
    events = [e.event for e in verified.entries]
    assert events.count("component_issued") == 2 and events.count("approval") == 3
    # Each custodian typed the serial of the envelope the file lists on the envelope screen.
    assert room.envelopes == {"demo-zmk/1": serials[0], "demo-zmk/2": serials[1]}
    sealed = [e.data for e in verified.entries if e.event == "envelope_sealed"]
    assert [(s["index"], s["custodian"], s["envelope"]) for s in sealed] == [
        (1, "ebrown", serials[0]),
        (2, "fgarcia", serials[1]),
    ]
    # 2. The reconstitute: custodian 1 types their form, custodian 2 scans its QR code. Before
    # each envelope is opened a checker types the serial read on it; the first one is misread,
    # refused in the error modal and asked again on the same screen.
    misread = "entry/demo-zmk/1/envelope-serial"
    rebuild = rebuild_file(tmp_path, split, recorded_kcv(split_journal), envelopes=serials)
    sealer, room = room, Room(token, misread=(misread,))
    room.component_texts = texts
    room.envelopes = dict(sealer.envelopes)  # the envelopes the custodians bring back
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
    assert room.typed[misread] == ["TUI-ENV-0107", serials[0]]
    (refused,) = room.refusals
    assert refused[0] == misread
    assert "TUI-ENV-0107" in refused[1] and "not the one recorded" in refused[1]
    assert room.steps[room.steps.index(misread) + 1] == misread  # asked again
    checked = [e.data for e in verified.entries if e.event == "envelope_checked"]
    assert [(c["index"], c["envelope"], c["intact"]) for c in checked] == [
        (1, serials[0], True),
        (2, serials[1], True),
    ]
    assert all(
        c["checked_by"] == room.answered_by[f"entry/demo-zmk/{c['index']}/envelope-serial"]
        for c in checked
    )
    # 3. The re-split: the same components entered again, a new set issued to two people who
    # never held one; the old ones are listed to destroy.
    newcomers = "".join(
        f'\n[[participants]]\nid = "{i}"\nname = "{n}"\nrole = "key-custodian"\n'
        f'id_reference = "staff badge {b}"\n'
        for i, n, b in (("gkim", "Grace Kim", "0213"), ("hsato", "Hiro Sato", "0214"))
    )
    text = "".join(
        line
        for line in rebuild.read_text("utf-8").splitlines(keepends=True)
        if not line.startswith("envelope = ")  # opened at the reconstitute
    )
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
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from ceremony.core.providers.common import Fingerprint
    from tests.engine.helpers import import_key_pairs, rehearsal_doc, write_ceremony, write_imports

    label = f"dek-{secrets.token_hex(3)}"
    doc = rehearsal_doc(
        "generate-export", module=config.DEFAULT_MODULE, label=TOKEN_LABEL, ceremony_id="tui-gen"
    )
    doc["keys"][0]["label"] = label
    # Two security officers each type one half of the PIN on their own screen.
    doc["hsm"]["login"] = "split-pin"
    keys = import_key_pairs().public
    for target, public in zip(
        doc["keys"][0]["targets"], (keys.aws, keys.azure, keys.gcp), strict=True
    ):  # the file pins each import key's fingerprint
        der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        target["fingerprint"] = Fingerprint.of_spki(der).hex
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
    assert all(c["pinned"] is True for c in confirmed)
    # Each import key on two screens, one per officer: the second never offers the first.
    targets: dict[str, list[ImportKeySeen]] = {}
    for seen in room.import_keys:
        targets.setdefault(seen.screen.check.target, []).append(seen)
        assert seen.screen.check.fingerprint.word_lines()[0] in seen.text
        assert "It also matches the fingerprint pinned in the file." in seen.text
    assert len(targets) == 3
    for one, two in targets.values():
        assert one.screen is not two.screen
        assert (one.screen.confirmation, two.screen.confirmation) == ((1, 2), (2, 2))
        assert one.chosen in one.offered and one.chosen not in two.offered
    assert sum(e.event == "wrapped" for e in entries) == 3
    # The halves, in order; the second half's screen offers the other officer only.
    halves = [step for step in room.steps if step.startswith("hsm/") and "/half-" in step]
    assert halves and not any(step.endswith("-pin") for step in room.steps)
    for role in {step.rsplit("/", 1)[0] for step in halves}:  # hsm/user-pin (and so-pin)
        first, second = f"{role}/half-1", f"{role}/half-2"
        assert room.steps.index(first) < room.steps.index(second)
        one = room.answered_by[first]
        assert one in room.offered[first] and len(room.offered[first]) == 2
        assert room.offered[second] == [o for o in room.offered[first] if o != one]
        assert room.answered_by[second] in room.offered[second]
    opened = next(e.data for e in entries if e.event == "hsm_opened")
    assert opened["login"] == "split-pin" and len(set(opened["officers"])) == 2
    generated = next(e.data for e in entries if e.event == "key_generated")
    kcvs = generated["kcvs"]
    assert isinstance(kcvs, list) and isinstance(kcvs[0], dict)
    recorded = f"{kcvs[0]['kcv_method']} {kcvs[0]['kcv']}"

    # The same key wrapped again for a new target: chosen by label and its recorded KCV.
    rewrap = rehearsal_doc(
        "re-wrap", module=config.DEFAULT_MODULE, label=TOKEN_LABEL, ceremony_id="tui-rewrap"
    )
    rewrap["ceremony"]["output"] = "out-rewrap"
    rewrap["keys"][0].update(label=label, kcv=recorded)
    entries = await _finished_and_verified(
        write_ceremony(tmp_path, rewrap, "re-wrap.toml"), token, (120, 40)
    )
    checked = next(e.data for e in entries if e.event == "key_checked")
    assert checked["kcvs"][0]["kcv"] == kcvs[0]["kcv"]  # type: ignore[index]
    assert sum(e.event == "wrapped" for e in entries) == 1

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
    entries = await _finished_and_verified(
        write_ceremony(tmp_path, destroy, "destroy.toml"), token, (80, 24)
    )
    assert any(e.event == "key_destroyed" for e in entries)


async def _finished_and_verified(
    path: Path, token: FixedPinPrompter, size: tuple[int, int], room: Room | None = None
) -> tuple[journal.Entry, ...]:
    """A ceremony run through the TUI to its finish screen; its journal, closed and verified."""
    app = MainApp(path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        await run_to_finish(app, room or Room(token), pilot)
        finish = app.screen
        assert isinstance(finish, FinishScreen)
        assert finish.view.finished, finish.view.reason
        assert finish.view.journal is not None
        entries = journal.verify(finish.view.journal.read_bytes(), require_closed=True).entries
        ceremony_verify(finish.view.output_folder)
    return entries
