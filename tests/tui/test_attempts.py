"""Issue 14: the screens whose wrong answers are counted show the tries left the engine counts."""

from __future__ import annotations

from ceremony.core import kcv
from ceremony.tui.screens.approval import ApprovalScreen
from ceremony.tui.screens.component_display import ComponentDisplayScreen
from ceremony.tui.state import AtKeyboard
from ceremony.tui.widgets.approval import Approver
from tests.tui.conftest import app_with
from tests.tui.screen_text import static_text

APPROVERS = [Approver("amartin", "Alice Martin", "security officer")]


async def test_the_approval_screen_shows_each_approvers_tries() -> None:
    app = app_with(
        lambda: ApprovalScreen("destroy key zmk", APPROVERS, tries="amartin 2 of 3, cwright 3 of 3")
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert static_text(app, "#tries") == "Tries left: amartin 2 of 3, cwright 3 of 3"


async def test_the_kcv_type_back_shows_its_tries() -> None:
    check = kcv.CheckValue(kcv.KcvMethod.AES_CMAC, bytes.fromhex("0A1B2C"))
    app = app_with(
        lambda: ComponentDisplayScreen(
            AtKeyboard("Emma Brown", "key custodian"),
            "component 1 of 3 of key 'zmk'",
            None,
            check,
            check_locally=False,
            tries="2 of 3",
        )
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert static_text(app, "#tries") == "Tries left: 2 of 3"


async def test_the_envelope_serial_shows_its_tries() -> None:
    from ceremony.engine.requests import RequestKind
    from ceremony.tui.screens.text import TextScreen
    from tests.tui.test_held_keys import PEOPLE, request

    serial = request(RequestKind.PUBLIC, "component/zmk-prod/1/envelope", tries="1 of 3")
    app = app_with(lambda: TextScreen(serial, PEOPLE))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert static_text(app, "#tries") == "Tries left: 1 of 3"


async def test_the_component_entry_shows_its_tries() -> None:
    from ceremony.tui.screens.component_entry import ComponentEntryScreen
    from tests.tui import fixtures

    app = app_with(
        lambda: ComponentEntryScreen(fixtures.EMMA, fixtures.header(), None, tries="2 of 3")
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert static_text(app, "#tries") == "Tries left: 2 of 3"


async def test_the_import_key_confirmation_shows_its_tries() -> None:
    import dataclasses

    from ceremony.engine.requests import RequestKind
    from ceremony.tui.screens.import_key import ImportKeyScreen
    from tests.tui import fixtures
    from tests.tui.test_held_keys import PEOPLE
    from tests.tui.test_snapshots import import_key

    step = "approve/confirm-import-key/zmk-prod/aws-prod/1"
    asked = dataclasses.replace(
        import_key(fixtures.FINGERPRINT, RequestKind.APPROVAL, step),
        tries="amartin 2 of 3, bnoor 3 of 3",
    )
    app = app_with(lambda: ImportKeyScreen(asked, PEOPLE))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert static_text(app, "#tries") == "Tries left: amartin 2 of 3, bnoor 3 of 3"
