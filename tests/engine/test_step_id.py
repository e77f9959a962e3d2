"""Step ids: one builder and parser, the text stable for answers files, stages checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceremony.core.ceremony_file import parse_ceremony_file
from ceremony.core.rules import Operation
from ceremony.engine import flows
from ceremony.engine.context import Context, FlowError
from ceremony.engine.journal_store import JournalStore
from ceremony.engine.requests import Request
from ceremony.engine.step_id import Action, Family, StepId
from ceremony.hsm.base import HsmConfig
from ceremony.hsm.fake import FakeBackend, FakeToken
from tests.engine.helpers import Capture, drive, rehearsal_doc, script_for, services
from tests.engine.test_machine import PINS, doc_for, machine_for
from tests.unit.ceremony_files import dumps

pytestmark = pytest.mark.usefixtures("cheap_scrypt")


LABELS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True)
NUMBERS = st.integers(min_value=1, max_value=120)
PINS_NAMES = st.sampled_from(["so", "user"])


def _approval(operation: Operation, key: str, n: int, index: int, target: str) -> StepId:
    on_target = operation in (Operation.CONFIRM_IMPORT_KEY, Operation.SOFTWARE_WRAP)
    return StepId.approve(
        operation,
        key,
        n,
        index=index if operation.on_component else None,
        target=target if on_target else None,
    )


def _component(key: str, index: int, action: Action | None, again: int | None) -> StepId:
    stage = StepId.of(Family.COMPONENT, key, index)
    if action in (Action.PRIVACY, Action.KCV):
        return stage.then(action, again=again)
    return stage.then(action)


def _entry(key: str, index: int, action: Action | None, line: int) -> StepId:
    stage = StepId.of(Family.ENTRY, key, index)
    return stage.then(action, line=line) if action is Action.LINE else stage.then(action)


STEP_IDS = st.one_of(
    st.sampled_from(
        [
            StepId(Family.AIRGAP),
            StepId(Family.AIRGAP, action=Action.CHOICE),
            StepId(Family.CLOCK),
            StepId(Family.PRINTER),
            StepId(Family.PRINTER, action=Action.CHOICE),
            StepId(Family.HSM),
            StepId(Family.HSM, action=Action.PREFLIGHT),
            StepId(Family.FINISH),
        ]
    ),
    st.builds(
        lambda p, a: StepId(Family.ROLL_CALL, person=p, action=a),
        LABELS,
        st.sampled_from([None, Action.PRESENT, Action.PASSPHRASE, Action.PASSPHRASE_AGAIN]),
    ),
    st.builds(
        lambda k, t, a: StepId(Family.IMPORT_KEY, key=k, target=t, action=a),
        LABELS,
        LABELS,
        st.sampled_from([None, Action.MISMATCH]),
    ),
    st.builds(
        StepId.of,
        st.sampled_from([Family.KEY, Family.ASSEMBLE, Family.STORE, Family.DESTROY]),
        LABELS,
    ),
    st.builds(lambda k, t: StepId(Family.WRAP, key=k, target=t), LABELS, LABELS),
    st.builds(
        lambda pin, a, half: StepId(Family.HSM).then(a, pin=pin, half=None if a else half),
        PINS_NAMES,
        st.sampled_from([None, Action.LAST_TRY]),
        st.none() | st.sampled_from([1, 2]),
    ),
    st.builds(
        _component,
        LABELS,
        NUMBERS,
        st.sampled_from([None, Action.PRIVACY, Action.KCV, Action.ENVELOPE]),
        st.none() | NUMBERS,
    ),
    st.builds(
        _entry,
        LABELS,
        NUMBERS,
        st.sampled_from(
            [None, Action.PRIVACY, Action.KCV, Action.LINE, Action.ENVELOPE, Action.ENVELOPE_SERIAL]
        ),
        st.integers(min_value=0, max_value=120),
    ),
    st.builds(
        _approval, st.sampled_from(Operation), LABELS, st.sampled_from([1, 2]), NUMBERS, LABELS
    ),
)


@given(STEP_IDS)
def test_a_step_id_reads_back_from_its_text(step: StepId) -> None:
    text = str(step)
    assert StepId.parse(text) == step
    assert str(StepId.parse(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "airgap/choice",
        "roll-call/ebrown/passphrase-again",
        "import-key/zmk-prod/aws-prod/mismatch",
        "approve/show-component-again/zmk-prod/1/1",
        "approve/confirm-import-key/zmk-prod/aws-prod/2",
        "approve/air-gap-override/c-test/1",
        "hsm/so-pin/half-1",
        "hsm/user-pin/last-try",
        "component/zmk-prod/1/kcv/again-1",
        "component/zmk-prod/1/privacy-again-1",
        "entry/zmk-prod/2/line-03",
        "entry/zmk-prod/2/sum",
        "entry/zmk-prod/2/envelope-serial",
    ],
)
def test_the_texts_of_answers_files_are_unchanged(text: str) -> None:
    assert str(StepId.parse(text)) == text


def test_a_step_is_built_from_its_stage() -> None:
    hsm = StepId(Family.HSM)
    assert str(hsm.then(pin="so", half=1)) == "hsm/so-pin/half-1"
    assert str(hsm.then(Action.LAST_TRY, pin="user")) == "hsm/user-pin/last-try"
    kcv = StepId.of(Family.COMPONENT, "zmk-prod", 1).then(Action.KCV, again=2)
    assert str(kcv) == "component/zmk-prod/1/kcv/again-2"
    # ``then`` starts from the stage: nothing of the step it is called on is kept.
    assert kcv.then(Action.ENVELOPE) == StepId.parse("component/zmk-prod/1/envelope")


def test_fields_say_what_the_text_said() -> None:
    half = StepId.parse("hsm/so-pin/half-2")
    assert (half.family, half.pin, half.half, half.stage) == (
        Family.HSM,
        "so",
        2,
        StepId(Family.HSM),
    )
    approval = StepId.parse("approve/enter-component/zmk-prod/3/2")
    assert (approval.operation, approval.key, approval.index, approval.approval) == (
        Operation.ENTER_COMPONENT,
        "zmk-prod",
        3,
        2,
    )
    # A target label of digits is still a target: the operation says which parts follow.
    wrap = StepId.parse("approve/software-wrap/k/7/1")
    assert (wrap.index, wrap.target) == (None, "7")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nope",
        "roll-call",
        "hsm/x-pin",
        "entry/zmk/2/line-3",
        "component/zmk/x/kcv",
        "entry/zmk/1/kcv/privacy",
        "approve/destroy",
        "approve/show-component/zmk/1/2/3",
        "clock/",
    ],
)
def test_other_texts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a step id"):
        StepId.parse(text)


@pytest.mark.parametrize("kind", ["split-backup", "generate-export"])
def test_every_step_a_ceremony_asks_reads_back(tmp_path: Path, kind: str) -> None:
    doc = doc_for(kind)
    machine, _, _ = machine_for(tmp_path, doc)
    asked: list[Request] = []
    assert drive(machine, script_for(doc, PINS), on_request=asked.append) is None
    assert asked
    for request in asked:
        assert StepId.parse(request.step) == request.step_id


def _context(tmp_path: Path) -> Context:
    doc: dict[str, Any] = rehearsal_doc(
        "split-backup", module="<fake>", label="fake-token", ceremony_id="c-test"
    )
    cf = parse_ceremony_file(dumps(doc), validate=False)
    fake = FakeBackend(FakeToken())
    return Context(
        ceremony=cf,
        base=tmp_path,
        rehearsal=True,
        services=services(lambda c: fake, Capture()),
        store=cast(JournalStore, None),  # stages never journal
        run=1,
        output=tmp_path,
        registry=None,
        targets={},
        hsm_config=HsmConfig("<fake>", "fake-token", None),
        stages=flows.plan(cf, True),
    )


def test_a_stage_the_plan_does_not_list_is_refused(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    ctx.stage(StepId(Family.CLOCK))
    assert ctx.stage_title == "Clock"
    before = (ctx.stage_no, ctx.stage_title)
    with pytest.raises(FlowError, match="its plan does not list"):
        ctx.stage(StepId(Family.ROLL_CALL, person="nobody"))
    with pytest.raises(FlowError):
        ctx.stage(StepId.parse("clock").then(Action.CHOICE))  # a step, not a stage
    assert (ctx.stage_no, ctx.stage_title) == before
