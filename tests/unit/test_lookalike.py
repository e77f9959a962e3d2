"""Look-alike names: UTS #39 skeletons from Unicode's own table, and every rule that uses them."""

from __future__ import annotations

import runpy
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceremony.core import confusables_table
from ceremony.core.lookalike import CONFUSABLES_VERSION, same_person_keys, skeleton
from ceremony.core.registry import Registry, check_identities
from ceremony.core.rules import Participant, Role, Roster, RuleBreach
from tests.unit.test_registry import ROSTER, rec

ROOT = Path(__file__).resolve().parents[2]
VECTOR = ROOT / "tests" / "vectors" / "unicode" / "confusables.txt"
GENERATOR = runpy.run_path(str(ROOT / "scripts" / "gen-confusables"))


def test_the_committed_table_is_what_the_generator_writes_from_the_vector() -> None:
    version, table = GENERATOR["parse"](VECTOR.read_text(encoding="utf-8"))
    assert version == CONFUSABLES_VERSION == "13.0.0"
    assert table == confusables_table.PROTOTYPES
    written = Path(confusables_table.__file__).read_text(encoding="utf-8")
    assert written == GENERATOR["render"](version, table)


def test_every_line_of_confusables_txt_maps_its_source_to_its_prototype() -> None:
    # UTS #39 4: skeleton(X) = NFD(map(NFD(X))); a source that NFD leaves alone maps by its line.
    checked = 0
    for line in VECTOR.read_text(encoding="utf-8").lstrip("\ufeff").splitlines():
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        source, target = (field.strip() for field in body.split(";")[:2])
        text = chr(int(source, 16))
        prototype = "".join(chr(int(p, 16)) for p in target.split())
        if unicodedata.normalize("NFD", text) == text:
            assert skeleton(text) == unicodedata.normalize("NFD", prototype), line
            checked += 1
    assert checked == 5247  # of 6311 lines: the rest are not their own NFD


# Sources whose prototype is one small ASCII letter, and which NFD leaves alone.
_LOOK_ALIKES: dict[str, list[str]] = {}
for _point, _prototype in confusables_table.PROTOTYPES.items():
    _source = chr(_point)
    if (
        len(_prototype) == 1
        and _prototype in "abcdefghijklmnopqrstuvwxyz"
        and unicodedata.normalize("NFD", _source) == _source
    ):
        _LOOK_ALIKES.setdefault(_prototype, []).append(_source)


@given(st.data(), st.text(alphabet=sorted(_LOOK_ALIKES), min_size=1, max_size=20))
def test_a_name_with_look_alike_letters_has_the_name_s_skeleton(
    data: st.DataObject, name: str
) -> None:
    disguised = "".join(data.draw(st.sampled_from([c, *_LOOK_ALIKES[c]])) for c in name)
    assert skeleton(disguised) == skeleton(name)
    assert same_person_keys(disguised) & same_person_keys(name)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Alice Martin", "\u0410lice Martin"),  # Cyrillic capital A
        ("Alice Martin", "\uff21lice Martin"),  # fullwidth A (NFKC)
        ("alice martin", "ALICE  MARTIN"),  # case and spacing
        ("paypal", "p\u0430yp\u0430l"),  # UTS #39's own example, Cyrillic a
        ("scope", "\u0455\u0441\u043e\u0440\u0435"),  # all Cyrillic
        ("badge 0042", "badge OO42"),  # digit zero and capital O
        ("alice", "a1ice"),  # digit one and small L
        ("Ivan", "lvan"),  # capital I and small L
        ("Jos\u00e9", "Jose\u0301"),  # composed and decomposed
        ("ALICE MARTIN", "Alice Martin"),  # capital I, whose prototype is a small L
        ("Marc", "Mar\u03f2"),  # Greek lunate sigma, which NFKC makes a final sigma
    ],
)
def test_look_alikes_are_one_person(first: str, second: str) -> None:
    assert same_person_keys(first) & same_person_keys(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [("Bob", "B\u00f6b"), ("Anna Kowalska", "Anna Kowalski"), ("ab", "a b")],
)
def test_different_names_stay_two_people(first: str, second: str) -> None:
    assert not same_person_keys(first) & same_person_keys(second)


@given(st.text(max_size=40), st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]))
def test_the_key_does_not_depend_on_how_the_text_was_normalised(text: str, form: str) -> None:
    assert same_person_keys(unicodedata.normalize(form, text)) & same_person_keys(text)


def test_the_roster_refuses_a_look_alike_name_id_or_document() -> None:
    so = Participant("so", "Officer", Role.SECURITY_OFFICER, "badge 1")
    for other, what in (
        (Participant("s\u043e", "Other", Role.WITNESS, "badge 2"), "id"),
        (Participant("w", "\u041efficer", Role.WITNESS, "badge 2"), "name"),
        (Participant("w", "Other", Role.WITNESS, "badge l"), "identity reference"),
    ):
        with pytest.raises(RuleBreach, match=f"share the same {what} \\(.* look alike\\)"):
            Roster([so, other])


def test_a_look_alike_of_a_registry_id_is_refused() -> None:
    registry = Registry((rec("a1ice", 1),))
    roster = Roster([*ROSTER, Participant("alice", "Alice", Role.KEY_CUSTODIAN, "passport 7")])
    with pytest.raises(RuleBreach, match="looks like 'a1ice', an id the registry records"):
        check_identities(registry, roster)
    check_identities(Registry((rec("alice", 1),)), roster)
