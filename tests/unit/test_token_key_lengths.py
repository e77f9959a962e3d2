"""The ceremony file's check of what a token can hold agrees with what the HSM layer creates."""

from __future__ import annotations

from ceremony.core.component import KeyAlgorithm
from ceremony.core.keylengths import TOKEN_SECRET_LENGTHS, allowed_lengths
from ceremony.errors import MechanismNotSupportedError
from ceremony.hsm.base import KeySpec


def test_every_length_the_file_lets_onto_a_token_has_a_key_spec_and_no_other() -> None:
    for algorithm in KeyAlgorithm:
        for length in allowed_lengths(algorithm):
            try:
                KeySpec.for_secret(algorithm, length)
            except MechanismNotSupportedError:
                assert length not in TOKEN_SECRET_LENGTHS.get(algorithm, ())
            else:
                assert length in TOKEN_SECRET_LENGTHS[algorithm]
