"""The journal's message screen: the values a run holds are found raw, in hex and in base64,
whole or by a prefix; hex that is not one of them (a serial, a digest) passes."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceremony.core import journal
from ceremony.core.journal import Message, SecretScreen
from ceremony.core.secret import Secret
from ceremony.errors import JournalError

KEY = bytes.fromhex("3f419e1c0a2bd5e7c4b8a1f09e3d2c7b5a6f8e9d0c1b2a3948576a6b7c8d9eaf")
SERIAL = "90e326e9170b5343"


def screen_of(*values: bytes) -> SecretScreen:
    held = [Secret(v) for v in values]
    return SecretScreen(lambda: held)


def test_honest_hex_passes() -> None:
    screen = screen_of(KEY)
    assert not screen.finds(f"token serial {SERIAL} refused CKM_AES_KEY_GEN (CKR 0x00000068)")
    assert not screen.finds(f"journal sha256 {hashlib.sha256(b'x').hexdigest()}")
    assert not screen.finds(f"KCV AES-CMAC 08793E, CKA_ID {'00ff' * 8}")


@pytest.mark.parametrize(
    "form",
    [
        KEY.hex(),
        KEY.hex().upper(),
        KEY.hex()[:8],  # a 4-byte prefix gives it away
        KEY[5:9].hex().upper(),  # as does any 4 bytes of it
        " ".join(KEY.hex().upper()[i : i + 4] for i in range(0, 16, 4)),
        ":".join(KEY.hex()[i : i + 2] for i in range(0, 16, 2)),
        base64.b64encode(KEY).decode(),
        base64.urlsafe_b64encode(KEY).decode().rstrip("="),
        base64.b64encode(KEY[:6]).decode(),  # a prefix in base64
    ],
)
def test_a_held_key_is_found_in_every_form(form: str) -> None:
    assert screen_of(KEY).finds(f"the token said {form} and stopped")


def test_fewer_than_eight_hex_digits_are_no_match() -> None:
    assert not screen_of(KEY).finds(f"the token said {KEY.hex()[:7]}")


def test_a_pin_or_passphrase_is_found_raw_hex_and_base64() -> None:
    pin = b"493027"
    screen = screen_of(pin)
    assert screen.finds("login with 493027 failed")
    assert screen.finds(f"login with {pin.hex()} failed")
    assert screen.finds(f"login with {base64.b64encode(pin).decode()} failed")
    # Its words are ordinary words: only the whole value counts raw.
    passphrase = screen_of(b"correct horse battery staple")
    assert not passphrase.finds("the correct horse was chosen")
    assert passphrase.finds("typed: correct horse battery staple")


def test_what_was_typed_is_screened_and_a_wiped_secret_no_longer_is() -> None:
    secret = Secret(KEY)
    screen = SecretScreen(lambda: [secret])
    assert screen.finds("said deadbeef here") is False
    assert screen.finds(f"said {KEY.hex()[20:30]} here")
    assert SecretScreen().finds("the PIN 778899 was wrong", typed=["778899"])
    secret.close()
    assert not screen.finds(f"said {KEY.hex()}")  # nothing is held once it is wiped


def test_a_message_is_refused_or_withheld_when_it_holds_a_secret() -> None:
    screen = screen_of(KEY)
    assert Message(f"serial {SERIAL}", screen).value == f"serial {SERIAL}"
    with pytest.raises(JournalError, match="keeps secret"):
        Message(f"value {KEY.hex()}", screen)
    assert Message.screened(f"value {KEY.hex()}", screen).value == journal.WITHHELD
    assert Message.screened("two\nlines\x00here", screen).value == "two lines here"
    # Text, for names people chose, still refuses long hex by its shape.
    with pytest.raises(JournalError, match="looks like key material"):
        journal.Text(f"serial {SERIAL}")


@given(
    value=st.binary(min_size=4, max_size=64),
    data=st.data(),
    upper=st.booleans(),
)
def test_any_four_bytes_of_a_held_value_in_hex_are_found(
    value: bytes, data: st.DataObject, upper: bool
) -> None:
    start = data.draw(st.integers(0, len(value) - 4))
    end = data.draw(st.integers(start + 4, len(value)))
    piece = value[start:end].hex()
    assert screen_of(value).finds(f"x {piece.upper() if upper else piece} y")
