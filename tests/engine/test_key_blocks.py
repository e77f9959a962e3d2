"""A received TR-31 block is refused before any work when it is not what the file says."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from ceremony.core import parity, tr31
from ceremony.core.ceremony_file import FileError, parse_ceremony_file
from ceremony.core.component import KeyAlgorithm
from ceremony.engine.steps.key_blocks import load_key_blocks
from ceremony.errors import ConfigError
from tests.unit.ceremony_files import dumps, template


def _block(header: tr31.Header, kbpk_length: int = 16, algorithm: str = "TDES") -> str:
    kbpk_algorithm = KeyAlgorithm(algorithm)
    kbpk = bytearray(secrets.token_bytes(kbpk_length))
    key = bytearray(secrets.token_bytes(16))
    if kbpk_algorithm is KeyAlgorithm.TDES:
        parity.adjust(kbpk)
        parity.adjust(key)
    return tr31.wrap(kbpk, header, key, secrets.token_bytes, kbpk_algorithm=kbpk_algorithm)


def _load(tmp_path: Path, doc: dict[str, Any], block: str) -> dict[str, str]:
    (tmp_path / "received").mkdir(exist_ok=True)
    (tmp_path / "received" / "pek-acquirer.tr31").write_text(block, "ascii")
    return load_key_blocks(parse_ceremony_file(dumps(doc)), tmp_path)


def test_the_template_block_is_read_when_its_header_fits(tmp_path: Path) -> None:
    block = _block(tr31.Header("B", "P0", "T", "E"))
    assert _load(tmp_path, template("zmk-load"), block + "\n") == {"pek-acquirer": block}


@pytest.mark.parametrize(
    ("block", "words"),
    [
        (lambda: _block(tr31.Header("B", "D0", "T", "B")), "key usage is D0, and a PEK is P0"),
        (lambda: _block(tr31.Header("D", "P0", "A", "E"), 32, "AES"), "holds a key of type AES"),
    ],
)
def test_a_block_whose_header_does_not_fit_is_refused_at_its_path(
    tmp_path: Path, block: Any, words: str
) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        _load(tmp_path, template("zmk-load"), block())
    assert str(caught.value).startswith("keys[1].key_block.file: ")


def test_a_version_d_block_under_a_tdes_zmk_is_refused(tmp_path: Path) -> None:
    block = _block(tr31.Header("D", "P0", "T", "E"), kbpk_length=32, algorithm="AES")
    with pytest.raises(ConfigError, match="opens version B blocks"):
        _load(tmp_path, template("zmk-load"), block)


def test_a_block_that_is_not_ascii_is_refused(tmp_path: Path) -> None:
    (tmp_path / "received").mkdir()
    (tmp_path / "received" / "pek-acquirer.tr31").write_bytes(b"B0096P0TE00N0000\xff")
    with pytest.raises(ConfigError, match="not ASCII"):
        load_key_blocks(parse_ceremony_file(dumps(template("zmk-load"))), tmp_path)


def test_a_kbpk_weaker_than_the_key_it_protects_is_refused_in_the_file() -> None:
    doc = template("zmk-load")
    doc["keys"][1].update(type="AES", bits=256, kcv="AES-CMAC 0A1B2C")
    with pytest.raises(FileError, match="cannot protect this AES-256") as caught:
        parse_ceremony_file(dumps(doc))
    assert caught.value.path == "keys[1].key_block.kbpk"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["keys"][1]["key_block"].update(kbpk="zmk-other"), "not a key loaded"),
        (lambda d: d["keys"][0].update(role="data"), "does not protect other keys"),
        (lambda d: d["keys"].reverse(), "not a key loaded earlier"),
    ],
)
def test_the_kbpk_is_a_protecting_key_loaded_earlier(change: Any, words: str) -> None:
    doc = template("zmk-load")
    change(doc)
    with pytest.raises(FileError, match=words):
        parse_ceremony_file(dumps(doc))


def test_a_key_block_without_its_table_or_a_table_without_the_source_is_refused() -> None:
    doc = template("zmk-load")
    del doc["keys"][1]["key_block"]
    with pytest.raises(FileError, match="key_block is missing"):
        parse_ceremony_file(dumps(doc))
    doc = template("zmk-load")
    doc["keys"][0]["key_block"] = {"file": "x.tr31", "kbpk": "zmk-acquirer"}
    with pytest.raises(FileError, match="only for a key received as a TR-31 key block"):
        parse_ceremony_file(dumps(doc))
