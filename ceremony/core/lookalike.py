"""One person, however the name is typed: NFKC, case folding and UTS #39 confusable skeletons."""

from __future__ import annotations

import unicodedata

from ceremony.core.confusables_table import PROTOTYPES, VERSION

__all__ = ["CONFUSABLES_VERSION", "alike_note", "same_person_keys", "skeleton"]

CONFUSABLES_VERSION = VERSION


def skeleton(text: str) -> str:
    """The UTS #39 skeleton: NFD, each character to its prototype, NFD again.

    Two strings with the same skeleton are confusable: "Alice" typed with a Cyrillic capital A
    (U+0410) has the skeleton of "Alice".
    """
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", text).translate(PROTOTYPES))


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def same_person_keys(text: str) -> frozenset[str]:
    """What names, ids and identity references are compared by: one shared key is one person.

    "Alice  Martin", "ALICE MARTIN" and "Alice Martin" typed with a fullwidth (U+FF21) or a
    Cyrillic (U+0410) first letter are one person. Two keys, because the skeleton and the case
    fold do not commute: the fold first joins "ALICE" and "Alice" (the skeleton of a capital I
    is a small L); the skeleton first joins "badge 0042" and "badge OO42" (a zero's prototype is
    a capital O), and a lunate sigma with a c, which NFKC would turn into a final sigma. A false
    alarm costs a clearer name; a miss costs split knowledge.
    """
    return frozenset((skeleton(_fold(text)), skeleton(_fold(skeleton(text)))))


def alike_note(first: str, second: str) -> str:
    """Said after "the same name" when the two were typed differently: why they are one."""
    if first == second:
        return ""
    return f" ({first!r} and {second!r} look alike)"
