"""A test-only PIN prompter with fixed PINs, shared by the token fixtures and other packages."""

from __future__ import annotations

from ceremony.core.secret import Secret
from ceremony.hsm.base import PinRequest, PinRole


class FixedPinPrompter:
    """Test-only prompter: hands out fixed PINs and counts how often it was asked."""

    def __init__(self, user_pin: str, so_pin: str, *, confirm: bool = False) -> None:
        self.user_pin = user_pin
        self.so_pin = so_pin
        self.confirm = confirm
        self.asked: list[PinRequest] = []
        self.confirm_asked = 0

    def pin(self, request: PinRequest) -> Secret:
        self.asked.append(request)
        value = self.user_pin if request.role is PinRole.USER else self.so_pin
        return Secret(value.encode("utf-8"), f"{request.role.value} PIN")

    def confirm_final_try(self, request: PinRequest) -> bool:
        self.confirm_asked += 1
        return self.confirm
