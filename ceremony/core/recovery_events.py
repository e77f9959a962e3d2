"""Typed builders of the journal events of a restart and of token calls (docs/journal-events.md)."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence

from ceremony.core.event_base import Event
from ceremony.core.event_base import labels as _labels
from ceremony.core.event_base import optional as _optional
from ceremony.core.journal import JournalValue, Label, PublicId
from ceremony.core.kcv import CheckValue

# ---- recovery after an interrupted ceremony ---------------------------------------------------


def recovery_reviewed(
    *,
    aborted: Sequence[Mapping[str, JournalValue]],
    keys: Sequence[Mapping[str, JournalValue]],
    components: Sequence[Mapping[str, JournalValue]],
    outputs: Sequence[Mapping[str, JournalValue]],
    destroyed: Sequence[Mapping[str, JournalValue]],
    confirmed_by: str,
    failed_attempts: Sequence[Mapping[str, JournalValue]] = (),
) -> Event:
    """What the interrupted attempts left, read aloud and confirmed before anything else.

    ``failed_attempts``: each ``attempt_failed`` of the aborted journals, copied with its
    ceremony and entry, so that the record of this ceremony lists them too.
    """
    return Event(
        "recovery_reviewed",
        {
            "aborted": list(aborted),
            "keys": list(keys),
            "components": list(components),
            "outputs": list(outputs),
            "destroyed": list(destroyed),
            "confirmed_by": Label(confirmed_by),
            "failed_attempts": list(failed_attempts),
        },
    )


def orphan_key_absent(*, key: str, id: str | None, left_by: str) -> Event:
    """A key the interrupted ceremony made is no longer on the token: nothing to destroy."""
    data: dict[str, JournalValue] = {"key": Label(key), "left_by": Label(left_by)}
    return Event("orphan_key_absent", _optional(data, id=PublicId(id) if id else None))


def components_voided(
    *,
    key: str,
    split_set: str,
    components: Sequence[Mapping[str, JournalValue]],
    left_by: str,
    approvers: Sequence[str],
) -> Event:
    """Components an interrupted ceremony issued (or began to show), void from now on."""
    return Event(
        "components_voided",
        {
            "key": Label(key),
            "split_set": Label(split_set),
            "components": list(components),
            "left_by": Label(left_by),
            "approvers": _labels(approvers),
        },
    )


def key_destroyed_earlier(
    *,
    key: str,
    id: str | None,
    kcvs: Sequence[CheckValue],
    ceremony: str,
    seq: int,
    interrupted: bool = False,
) -> Event:
    """Destroy: the key was destroyed by an aborted attempt (entry ``seq``), absent now.

    ``interrupted``: that attempt only asked the token (a ``token_call``) and died before the
    answer was journaled; the token says now that the key is gone.
    """
    data: dict[str, JournalValue] = {
        "key": Label(key),
        "kcvs": list(kcvs),
        "ceremony": Label(ceremony),
        "seq": seq,
    }
    return Event(
        "key_destroyed_earlier",
        _optional(data, id=PublicId(id) if id else None, interrupted=True if interrupted else None),
    )


class TokenCall(enum.Enum):
    """A token call that creates or destroys a key, journaled before it is made."""

    GENERATE = "generate-key"
    IMPORT = "import-key"
    DESTROY = "destroy-key"


def token_call(
    *, call: TokenCall, key: str, id: str | None = None, kcvs: Sequence[CheckValue] = ()
) -> Event:
    """Just before the call: a process killed inside it leaves this entry without its result,
    and the restart looks for the key by its label (checked free, or read, just before)."""
    data: dict[str, JournalValue] = {"call": Label(call.value), "key": Label(key)}
    if kcvs:
        data["kcvs"] = list(kcvs)
    return Event("token_call", _optional(data, id=PublicId(id) if id else None))
