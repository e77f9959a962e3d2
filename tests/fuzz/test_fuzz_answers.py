"""Fuzz the answers file of a rehearsal (TOML) and the component files it names, then answer."""

from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceremony.core.rules import Role
from ceremony.engine.requests import EntryField, Request, RequestKind, Who
from ceremony.engine.script import Script
from ceremony.engine.step_id import StepId
from ceremony.rehearsal import demo_answers
from tests.fuzz import harness, mutate
from tests.fuzz.test_fuzz_component_text import TEXTS as COMPONENT_TEXTS
from tests.unit.ceremony_files import dumps

pytestmark = pytest.mark.fuzz

FULL = """\
[passphrases]
amartin = "rehearsal amartin"
cwright = "rehearsal cwright"
[pins]
user = "rehearsal-user"
so = "rehearsal-so"
[approvers]
order = ["amartin", "cwright"]
[components]
"zmk-prod.1" = "component-1.txt"
[answers]
"airgap/choice" = "override"
[by]
"clock" = "bokafor"
"""
SAMPLES = [FULL, demo_answers()]
DOCS = [tomllib.loads(s) for s in SAMPLES]


def _who(participant: str | None) -> Who:
    return Who(participant, Role.SECURITY_OFFICER, ("amartin", "cwright"), "one officer")


REQUESTS = [
    Request(
        StepId.parse("approve/clear-export/zmk-prod/1"),
        1,
        9,
        "t",
        _who(None),
        RequestKind.APPROVAL,
        "p",
    ),
    Request(StepId.parse("roll-call/amartin"), 1, 9, "t", _who("amartin"), RequestKind.SECRET, "p"),
    Request(StepId.parse("hsm/so-pin/half-1"), 1, 9, "t", _who(None), RequestKind.SECRET, "p"),
    Request(StepId.parse("hsm/user-pin"), 1, 9, "t", _who(None), RequestKind.SECRET, "p"),
    Request(StepId.parse("clock"), 1, 9, "t", _who(None), RequestKind.PUBLIC, "p"),
    Request(
        StepId.parse("airgap/choice"),
        1,
        9,
        "t",
        _who(None),
        RequestKind.CHOICE,
        "p",
        choices=("a", "b"),
    ),
    *(
        Request(
            StepId.parse(
                "entry/zmk-prod/1"
                + ("" if line is None else "/sum" if line == 0 else f"/line-{line:02d}")
            ),
            1,
            9,
            "t",
            _who("amartin"),
            RequestKind.SECRET,
            "p",
            entry=EntryField("zmk-prod", 1, line, 2),
        )
        for line in (None, 0, 1, 2)
    ),
]


def _load_and_answer(answers: bytes, component: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "answers.toml"
        path.write_bytes(answers)
        (Path(folder) / "component-1.txt").write_bytes(component)
        script = Script.load(path)
    script.environ = {}
    for request in REQUESTS:
        try:
            script.answer(request)
        except Exception as ex:
            ex.add_note(f"answering {request.step}")
            raise


_ANSWERS = st.one_of(
    mutate.byte_inputs([s.encode() for s in SAMPLES]),
    mutate.doc_texts(DOCS, dumps, with_null=False).map(
        lambda t: t.encode("utf-8", "surrogatepass")
    ),
)
_COMPONENT = st.one_of(
    st.sampled_from([t.encode() for t in COMPONENT_TEXTS]),
    mutate.byte_inputs([t.encode() for t in COMPONENT_TEXTS]),
)


@harness.fuzz_settings()
@given(_ANSWERS, _COMPONENT)
def test_answers_file(answers: bytes, component: bytes) -> None:
    harness.expect_refusal_or_result(
        "answers", lambda: _load_and_answer(answers, component), (answers, component)
    )
