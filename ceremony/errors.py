"""One error root for the whole tool, one subclass per area; messages never carry secret bytes."""

from __future__ import annotations


class CeremonyError(Exception):
    """Root of every error the tool raises on purpose.

    ``message`` says what happened, ``hint`` says what the custodian or officer should do next.
    Neither may ever contain key material in any encoding: callers pass labels, indices, KCVs.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  What to do: {self.hint}"


class KeyMaterialError(CeremonyError):
    """Key or component has an unusable length, type or value."""


class ComponentFormatError(CeremonyError):
    """A component's text (paper or keyboard) does not parse; names the line, never the secret."""


class ShareError(CeremonyError):
    """A set of components or shares cannot be combined safely."""


class CheckValueError(CeremonyError):
    """A key check value does not match the recorded one."""


class WrapError(CeremonyError):
    """Wrapping for a cloud import key failed or was refused."""


class KeyBlockError(CeremonyError):
    """A TR-31 / X9.143 key block cannot be built, read or verified; never names key bytes."""


class ImportKeyError(CeremonyError):
    """A provider's import (wrapping) public key is unusable."""


class ConfigError(CeremonyError):
    """The ceremony file is invalid; the message names the dotted path."""


class RuleViolation(CeremonyError):
    """A dual-control or split-knowledge rule would be broken."""


class JournalError(CeremonyError):
    """The journal cannot be written or does not verify."""


class OutputExistsError(CeremonyError):
    """An output already exists; the tool never overwrites."""


class OutputError(CeremonyError):
    """An output could not be written; whatever this run had written of it was removed."""


class HsmError(CeremonyError):
    """A PKCS#11 token refused or failed an operation."""


class TokenNotFoundError(HsmError):
    """No token with the requested label or serial is present."""


class TokenRemovedError(HsmError):
    """The token disappeared or the session died mid-step."""


class PinIncorrectError(HsmError):
    """The PIN was wrong; carries the tries-left state when the token reports it."""

    def __init__(self, message: str, *, hint: str | None = None, pin_state: str | None = None):
        super().__init__(message, hint=hint)
        # What the token reported after the failure (e.g. "final try"), None if it says nothing.
        self.pin_state = pin_state


class PinFinalTryError(HsmError):
    """The token allows one more PIN try and nobody confirmed spending it."""


class PinLockedError(HsmError):
    """The PIN is locked; the security officer must unblock it."""


class MechanismNotSupportedError(HsmError):
    """The token cannot do what was asked (mechanism or parameter)."""


class KeyNotExtractableError(HsmError):
    """The key may not leave the token in the way that was asked."""


class LabelExistsError(HsmError):
    """A key with this label already exists on the token."""


class KeyNotFoundError(HsmError):
    """No key with this label is on the token."""


class RecordError(CeremonyError):
    """The ceremony record, a component form or a signature could not be made."""


class VerifyError(RecordError):
    """Evidence given to ``ceremony verify`` cannot be read at all (not a failed check)."""


class PrintError(RecordError):
    """A form could not be printed, or the printer was refused."""
