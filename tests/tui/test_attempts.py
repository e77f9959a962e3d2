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
