"""Secret never shows its bytes and wipes its buffer."""

from __future__ import annotations

import pickle

import pytest

from ceremony.core import rng
from ceremony.core.secret import Secret
from ceremony.errors import KeyMaterialError

MATERIAL = bytes(range(0xA0, 0xC0))


def test_repr_str_format_hide_material() -> None:
    secret = Secret(MATERIAL, "k1")
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}"):
        assert MATERIAL.hex() not in shown.lower()
        assert "a0a1" not in shown.lower()
        assert "k1" in shown


def test_close_wipes_and_blocks_reveal() -> None:
    secret = Secret(MATERIAL)
    buffer = secret.reveal()
    secret.close()
    assert buffer == bytearray(len(MATERIAL))
    with pytest.raises(KeyMaterialError):
        secret.reveal()


def test_context_manager_wipes() -> None:
    with Secret(MATERIAL) as secret:
        buffer = secret.reveal()
    assert not any(buffer)


def test_cannot_pickle_or_bytes() -> None:
    secret = Secret(MATERIAL)
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(TypeError):
        bytes(secret)  # type: ignore[call-overload]


def test_generate_uses_injected_source() -> None:
    with rng.installed(lambda n: b"\x42" * n, "test source"):
        assert rng.source_name() == "test source"
        secret = Secret.generate(16)
    assert secret.reveal() == bytearray(b"\x42" * 16)
    assert rng.source_name() != "test source"


def test_short_random_read_is_refused() -> None:
    with rng.installed(lambda n: b"\x00" * (n - 1), "broken"), pytest.raises(KeyMaterialError):
        rng.random_bytes(16)


def test_stuck_or_zero_random_source_is_refused() -> None:
    with rng.installed(lambda n: bytes(n), "zero"), pytest.raises(KeyMaterialError, match="zero"):
        rng.random_bytes(16)
    with rng.installed(lambda n: b"\x5a" * n, "stuck"):
        rng.random_bytes(32)
        with pytest.raises(KeyMaterialError, match="repeated"):
            rng.random_bytes(32)
