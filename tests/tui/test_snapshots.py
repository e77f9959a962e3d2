"""Every screen at 80x24 and 120x40 (pytest-textual-snapshot; SVGs in __snapshots__/).

Update after a deliberate change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at every changed SVG before committing it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from ceremony.core import encoding
from ceremony.core.ceremony_file import parse_ceremony_file
from ceremony.core.rules import Operation, Role
from ceremony.engine.requests import FingerprintCheck, Request, RequestKind, Who
from ceremony.engine.step_id import StepId
from ceremony.errors import CeremonyError
from ceremony.tui.requests import People
from ceremony.tui.screens.approval import ApprovalScreen
from ceremony.tui.screens.choice import ChoiceScreen
from ceremony.tui.screens.component_display import ComponentDisplayScreen, ComponentView
from ceremony.tui.screens.component_entry import ComponentEntryScreen
from ceremony.tui.screens.confirm import ConfirmScreen
from ceremony.tui.screens.finish import FinishScreen, FinishView
from ceremony.tui.screens.import_key import ImportKeyScreen
from ceremony.tui.screens.secret import SecretScreen
from ceremony.tui.screens.start import StartScreen
from ceremony.tui.screens.text import TextScreen
from ceremony.tui.screens.working import WorkingScreen
from ceremony.tui.widgets.approval import Approver
from tests.tui import fixtures
from tests.tui.conftest import app_with, burst

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
CHECK = encoding.component_kcv(fixtures.component())
PEOPLE = People(parse_ceremony_file((DATA / "rehearsal.toml").read_bytes()).roster)
SnapCompare = Callable[..., bool]


def view() -> ComponentView:
    component = fixtures.component()
    return ComponentView(
        encoding.format_lines(component),
        encoding.component_kcv(component),
        encoding.qr_payload(component),
    )


def request(kind: RequestKind, step: str, prompt: str, **extra: Any) -> Request:
    who = extra.pop("who", None) or Who("ebrown", Role.KEY_CUSTODIAN, ("ebrown",), "Emma Brown")
    return Request(
        step_id=StepId.parse(step),
        stage=9,
        stages=11,
        title=extra.pop("title", "Roll call: Emma Brown"),
        who=who,
        kind=kind,
        prompt=prompt,
        **extra,
    )


OFFICERS = Who(None, None, ("amartin", "bnoor"), "one security officer: Alice Martin, Bilal Noor")
IMPORT_DETAILS = (
    "Target aws-prod: AWS KMS, RSA_AES_KEY_WRAP_SHA_256, RSA-4096",
    "Reference: arn:aws:kms:eu-west-1:111122223333:key/1234abcd",
    "Valid until 2025-07-02T09:30:00Z",
)


def import_key(pinned: Any, kind: RequestKind, step: str) -> Request:
    return request(
        kind,
        step,
        "Approval 1 of 2 to confirm a cloud import key by its fingerprint (zmk-prod target "
        "aws-prod).",
        who=OFFICERS,
        title="Import key for aws-prod",
        operation=Operation.CONFIRM_IMPORT_KEY if kind is RequestKind.APPROVAL else None,
        choices=("stop",) if kind is RequestKind.CHOICE else (),
        fingerprint=FingerprintCheck(
            "zmk-prod", "aws-prod", "AWS KMS", fixtures.FINGERPRINT, pinned, IMPORT_DETAILS
        ),
    )


SCREENS: dict[str, Callable[[], Screen[Any]]] = {
    "component_display_privacy": lambda: ComponentDisplayScreen(
        fixtures.EMMA, "component 1 of 3 of key 'zmk-prod'", view, CHECK
    ),
    "import_key_approval": lambda: ImportKeyScreen(
        import_key(
            fixtures.FINGERPRINT,
            RequestKind.APPROVAL,
            "approve/confirm-import-key/zmk-prod/aws-prod/2",
        ),
        PEOPLE,
        confirmation=(2, 2),
    ),
    "import_key_pinned_mismatch": lambda: ImportKeyScreen(
        import_key(
            fixtures.OTHER_FINGERPRINT, RequestKind.CHOICE, "import-key/zmk-prod/aws-prod/mismatch"
        ),
        PEOPLE,
    ),
    "component_display_engine_typeback": lambda: ComponentDisplayScreen(
        fixtures.EMMA,
        "component 1 of 3 of key 'zmk-prod'",
        None,
        CHECK,
        privacy_confirmed=True,
        check_locally=False,
    ),
    "request_secret_pin_tries": lambda: SecretScreen(
        request(
            RequestKind.SECRET,
            "hsm/user-pin",
            "Security officer: type the user PIN of token 'payments-prod' (the others look away).",
            who=OFFICERS,
            title="HSM login",
            pin_tries="ONE try left: a wrong PIN locks the token",
            tries="1 of 3: one more failure stops the ceremony",
        ),
        PEOPLE,
    ),
    "approval": lambda: ApprovalScreen(
        "export key zmk-prod in clear to split it",
        [
            Approver("amartin", "Alice Martin", "security officer"),
            Approver("cwright", "Chloe Wright", "witness"),
            Approver("bnoor", "Bilal Noor", "security officer"),
        ],
        ["cwright"],
    ),
    "start": lambda: StartScreen(Path("tests/tui/data/rehearsal.toml"), workdir=ROOT),
    "request_confirm": lambda: ConfirmScreen(
        request(
            RequestKind.CONFIRMATION,
            "roll-call/ebrown/present",
            "Emma Brown: show staff badge 0211 to the security officer, then type yes to "
            "confirm you are Emma Brown (ebrown) and take part as key custodian.",
            notices=("Air gap: this is a rehearsal: it goes on and the journal records it.",),
        ),
        PEOPLE,
    ),
    "request_text_who": lambda: TextScreen(
        request(
            RequestKind.PUBLIC,
            "clock",
            "The workstation clock reads 2025-07-01 09:30 UTC. Read an independent clock and "
            "type the UTC time it shows (YYYY-MM-DD HH:MM), or 'same' if it agrees.",
            who=OFFICERS,
            title="Clock",
        ),
        PEOPLE,
    ),
    "request_secret": lambda: SecretScreen(
        request(
            RequestKind.SECRET,
            "roll-call/ebrown/passphrase",
            "Emma Brown: choose your approval passphrase for this ceremony (at least 8 "
            "characters; only you type it; the others look away).",
        ),
        PEOPLE,
    ),
    "request_choice": lambda: ChoiceScreen(
        request(
            RequestKind.CHOICE,
            "airgap/choice",
            "This machine is not air-gapped. Unplug every network cable, block every radio and "
            "recheck; or two security officers override after roll call; or stop.",
            who=OFFICERS,
            title="Air-gap check",
            lines=("eth0 is up with a carrier",),
            choices=("recheck", "override", "stop"),
        ),
        PEOPLE,
    ),
    "request_approval": lambda: ApprovalScreen(
        Operation.SHOW_COMPONENT.description,
        [PEOPLE.approver("amartin"), PEOPLE.approver("bnoor"), PEOPLE.approver("cwright")],
        needed=(1, 2),
        prompt="Approval 1 of 2 to show a component on screen (demo-zmk component 1): the "
        "approver chooses themselves and types their approval passphrase.",
    ),
    "working": WorkingScreen,
    "finish": lambda: FinishScreen(
        FinishView(
            finished=True,
            reason=None,
            final_hash=fixtures.entries()[-1].hash,
            journal=Path("out/2025-07-tui-rehearsal.journal.jsonl"),
            output_folder=Path("out"),
            outputs=("bundle/REHEARSAL.txt",),
        ),
        verify=lambda: (
            "ceremony verify: PASS (37 checks)\nceremony verify: out\n\nPASS  journal chain  ...",
            True,
        ),
    ),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", sorted(SCREENS))
def test_screen(snap_compare: SnapCompare, name: str, size: tuple[int, int]) -> None:
    assert snap_compare(app_with(SCREENS[name]), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_component_entry_with_a_wrong_line(
    snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    lines = [line.split(":", 1)[1].strip() for line in fixtures.value_lines()]

    async def type_lines(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await burst(pilot, CHECK.hex + "\n")
        await burst(pilot, lines[0] + "\n")
        wrong = lines[1].replace("8899", "8989", 1)
        await burst(pilot, wrong)

    app = app_with(lambda: ComponentEntryScreen(fixtures.EMMA, fixtures.header(), None))
    assert snap_compare(app, terminal_size=size, run_before=type_lines)


@pytest.mark.parametrize("size", SIZES)
def test_component_entry_complete(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def scan(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await burst(pilot, encoding.qr_payload(fixtures.component()))

    app = app_with(lambda: ComponentEntryScreen(fixtures.EMMA, fixtures.header(), CHECK))
    assert snap_compare(app, terminal_size=size, run_before=scan)


@pytest.mark.parametrize("size", SIZES)
def test_component_shown(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app = app_with(SCREENS["component_display_privacy"])
    assert snap_compare(app, terminal_size=size, press=["s"])


@pytest.mark.parametrize("size", SIZES)
def test_component_hidden_kcv_typed_back(
    snap_compare: SnapCompare, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ComponentDisplayScreen, "KEY_GUARD", 0.0)  # X hides it at once
    app = app_with(SCREENS["component_display_privacy"])
    assert snap_compare(app, terminal_size=size, press=["s", "x", "1", "2"])


@pytest.mark.parametrize("size", SIZES)
def test_error_modal(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def fail(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app.screen, Screen)
        app.show_error(  # type: ignore[attr-defined]
            CeremonyError(
                "the token was removed while the component was being wrapped",
                hint="put the token back; the ceremony stopped and the journal records it",
            ),
            during="wrapping for aws-prod",
        )
        await pilot.pause()

    app = app_with(SCREENS["request_confirm"])
    assert snap_compare(app, terminal_size=size, run_before=fail)


@pytest.mark.parametrize("size", SIZES)
def test_abort_modal(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app = app_with(SCREENS["request_confirm"])
    assert snap_compare(app, terminal_size=size, press=["f10"])


@pytest.mark.parametrize("size", SIZES)
def test_help_modal(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app = app_with(SCREENS["request_confirm"])
    assert snap_compare(app, terminal_size=size, press=["f1"])


@pytest.mark.parametrize("size", SIZES)
def test_import_key_matches_then_approval(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app = app_with(SCREENS["import_key_approval"])
    assert snap_compare(app, terminal_size=size, press=["y"])


@pytest.mark.parametrize("size", SIZES)
def test_verify_report_modal(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def report(pilot: Pilot[Any]) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()

    app = app_with(SCREENS["finish"])
    assert snap_compare(app, terminal_size=size, run_before=report)
