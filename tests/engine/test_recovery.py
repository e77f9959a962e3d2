"""A restart after an interruption, on the fake token: a crash right after each journal entry of
every ceremony type (a sample; all with ``--kill-sweep``), then a rerun of the same file that says
what was left, destroys the orphaned key, voids the components issued and finishes as a new
ceremony linked to the aborted one; and a voided component is never entered again."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ceremony.core import journal
from ceremony.core.kcv import KcvMethod
from ceremony.core.registry import RecordEvent, parse_registry
from ceremony.core.rules import RuleBreach
from ceremony.core.secret import Secret
from ceremony.engine import journal_store
from ceremony.engine.machine import Machine, Status
from ceremony.engine.requests import RequestKind
from ceremony.hsm.base import KeySpec
from ceremony.hsm.fake import FakeBackend, FakeToken
from tests.engine import recovery_cases as cases
from tests.engine.helpers import (
    Capture,
    drive,
    outcome_entries,
    scan,
    script_for,
    services,
    write_ceremony,
    write_imports,
)
from tests.hsm.conftest import FixedPinPrompter

pytestmark = pytest.mark.usefixtures("cheap_scrypt")

PINS = {"user": "1234", "so": "5678"}
LABEL = "rk"
SAMPLE = 2  # kill points per ceremony type in the default suite
SEED = 20251203


class Killed(BaseException):
    """The process died right after a journal entry reached the disk: nothing more is written."""


@dataclass
class Crash:
    """Counts journal writes; after the ``at``-th nothing more reaches the journal."""

    at: int
    written: int = 0
    dead: bool = False

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        write = journal_store.JournalStore._write
        create = journal_store.JournalStore.create.__func__  # type: ignore[attr-defined]

        def count() -> None:
            self.written += 1
            if self.written == self.at:
                self.dead = True
                raise Killed

        def counted_write(store: Any, payload: bytes, entry: Any, recovering: bool = False) -> None:
            if self.dead:
                raise Killed
            write(store, payload, entry, recovering)
            count()

        def counted_create(cls: Any, *args: Any, **kwargs: Any) -> Any:
            store = create(cls, *args, **kwargs)
            count()
            return store

        monkeypatch.setattr(journal_store.JournalStore, "_write", counted_write)
        monkeypatch.setattr(journal_store.JournalStore, "create", classmethod(counted_create))


@dataclass
class Case:
    kind: str
    folder: Path
    fake: FakeBackend
    doc: dict[str, Any]
    texts: dict[str, str] = field(default_factory=dict)
    secrets: list[bytes] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.folder / "ceremony.toml"

    def machine(self, delivery: Capture | None = None) -> Machine:
        return Machine(self.path, services=services(lambda c: self.fake, delivery or Capture()))

    def script(self) -> Any:
        return script_for(self.doc, PINS, components=self.texts)


def _made_set(folder: Path, fake: FakeBackend) -> cases.MadeSet:
    """A split made earlier, from the token's randomness, whose set the case enters."""
    made = cases.doc(
        "split-backup", "made-1", module="<fake>", token_label="fake-token", label=LABEL
    )
    made["keys"][0]["source"] = "hsm-random"
    made["ceremony"]["output"] = "out-made"
    write_ceremony(folder, made, "made.toml")
    delivery = Capture()
    machine = Machine(folder / "made.toml", services=services(lambda c: fake, delivery))
    drive(machine, script_for(made, PINS))
    data = next(
        e["data"] for e in outcome_entries(machine.outcome) if e["event"] == "key_generated"
    )
    key_kcv = f"{data['kcvs'][0]['kcv_method']} {data['kcvs'][0]['kcv']}"
    kcvs = tuple(f"{s.kcv.method.label} {s.kcv.hex}" for s in delivery.shown)
    return cases.MadeSet("made-1", key_kcv, kcvs, delivery.texts())


def new_case(kind: str, folder: Path) -> Case:
    fake = FakeBackend(FakeToken())
    folder.mkdir(parents=True)
    write_imports(folder)
    made = _made_set(folder, fake) if kind in ("reconstitute", "re-split") else None
    key_kcv = None
    if kind in ("destroy", "re-wrap"):  # a key already on the token
        with fake.open(FixedPinPrompter(PINS["user"], PINS["so"])) as session:
            if kind == "destroy":
                session.generate_key(LABEL, KeySpec.AES_128)
            else:
                session.generate_key(LABEL, KeySpec.AES_256, extractable=True)
            key_kcv = str(session.check_values(LABEL).of(KcvMethod.AES_CMAC))
    doc = cases.doc(
        kind,
        f"crash-{kind}",
        module="<fake>",
        token_label="fake-token",
        label=LABEL,
        made=made,
        key_kcv=key_kcv,
    )
    write_ceremony(folder, doc)
    return Case(kind, folder, fake, doc, made.texts if made else {})


def power_cut(case: Case, patch: pytest.MonkeyPatch, until: str, then: Any = None) -> None:
    """The first run of ``case`` up to the request ``until`` (then ``then(machine)``); then the
    power fails: not even its abort reaches the disk."""
    crash = Crash(10_000)
    with patch.context() as dying:
        crash.install(dying)
        machine = case.machine()
        assert drive(machine, case.script(), until=until) is not None
        if then is not None:
            then(machine)
        crash.dead = True
        with pytest.raises(Killed):
            machine.close()


@pytest.fixture
def secrets_made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Secret]]:
    """Every Secret made in the test (key material, components), to scan the disk for."""
    made: list[Secret] = []
    init = Secret.__init__

    def spy(self: Secret, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(Secret, "__init__", spy)
    yield made


def _values(made: list[Secret], seen: list[bytes]) -> list[bytes]:
    for s in made:
        if not s.closed and "PIN" not in s.label and len(s) >= 16:
            value = bytes(s.reveal())
            if any(value) and value not in seen:
                seen.append(value)
    return seen


def crash_and_restart(
    kind: str,
    folder: Path,
    at: int,
    monkeypatch: pytest.MonkeyPatch,
    made: list[Secret],
    expected: set[str],
) -> None:
    case = new_case(kind, folder)
    crash = Crash(at)
    seen: list[bytes] = []
    with monkeypatch.context() as patch:
        crash.install(patch)
        machine = case.machine()
        script = case.script()

        def keep(request: Any) -> None:
            _values(made, seen)  # what the process holds in memory as it goes

        with pytest.raises(Killed):
            drive(machine, script, on_request=keep)
    _values(made, seen)
    first = folder / "out" / f"crash-{kind}.journal.jsonl"
    if at == 1:  # died writing the genesis entry: the rerun is the first attempt
        assert first.exists()
    killed = journal.verify(first.read_bytes(), allow_torn_tail=True)
    assert len(killed.entries) == at and not killed.closed

    restart = case.machine()
    lines: list[str] = []

    def read(request: Any) -> None:
        _values(made, seen)
        if request.step == "recovery":
            lines.extend(request.lines)
            assert request.kind is RequestKind.CONFIRMATION

    drive(restart, case.script(), on_request=read)
    outcome = restart.outcome
    assert outcome.status is Status.FINISHED
    assert outcome.ceremony_id == f"crash-{kind}.r2" and outcome.restarts == f"crash-{kind}"
    text = "\n".join(lines)
    assert f"Ceremony crash-{kind} was interrupted after entry {at - 1}" in text
    entries = outcome_entries(outcome)
    link = entries[0]["data"]["restarts"]
    closed = journal.verify(first.read_bytes(), require_closed=True)
    assert link["final_hash"] == closed.final_hash and closed.last.event == journal.ABORTED
    events = [e["event"] for e in entries]
    assert events[1] == "recovery_reviewed" and events[-1] == "finished"
    # The orphaned key: destroyed, and journaled as a destroy ceremony journals it.
    orphaned = any(
        e.event in ("key_imported",) or (e.event == "key_generated" and e.data["where"] == "hsm")
        for e in killed.entries
    )
    destroyed = [e for e in entries if e["event"] == "key_destroyed" and "left_by" in e["data"]]
    assert len(destroyed) == (1 if orphaned else 0)
    if orphaned:
        asked, approval = (entries[destroyed[0]["seq"] - n] for n in (1, 2))
        assert asked["event"] == "token_call" and asked["data"]["call"] == "destroy-key"
        assert approval["data"]["operation"] == "destroy" and len(approval["actors"]) == 2
        assert LABEL in text and "id " in text and "KCV" in text
    cases.check_voided(folder, LABEL, killed, f"crash-{kind}.r2")
    if cases.exposed(killed):
        voided = [e for e in entries if e["event"] == "components_voided"]
        approvals = [e for e in entries[: voided[0]["seq"]] if e["event"] == "approval"]
        assert approvals[-1]["data"]["operation"] == "void-components"
        assert entries[voided[0]["seq"] - 1]["event"] == "registry_updated"  # written first
        assert "it is voided; its paper is destroyed" in text
    # The token holds what one finished ceremony leaves, nothing of the aborted one.
    assert set(case.fake.state.keys) == expected
    _values(made, seen)
    assert scan([folder], seen) == []


def _points(total: int, every: bool, rng: random.Random) -> list[int]:
    points = list(range(1, total))
    return points if every else sorted(rng.sample(points[1:], SAMPLE))


def _whole(kind: str, folder: Path) -> tuple[int, set[str]]:
    """A run not interrupted: its journal entries, and the keys it leaves on the token."""
    case = new_case(kind, folder)
    machine = case.machine()
    drive(machine, case.script())
    return len(outcome_entries(machine.outcome)), set(case.fake.state.keys)


@pytest.mark.parametrize("kind", cases.KINDS)
def test_a_crash_after_any_journal_entry_then_a_rerun_recovers(
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    secrets_made: list[Secret],
) -> None:
    total, keys = _whole(kind, tmp_path / "whole")
    rng = random.Random(f"{SEED}-{kind}")
    for at in _points(total, bool(request.config.getoption("--kill-sweep")), rng):
        crash_and_restart(kind, tmp_path / f"at-{at:02d}", at, monkeypatch, secrets_made, keys)


def test_a_voided_component_is_never_entered_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = new_case("split-backup", tmp_path / "split")
    delivery = Capture()
    crash = Crash(10_000)
    with monkeypatch.context() as patch:
        crash.install(patch)
        machine = case.machine(delivery)
        request = drive(machine, case.script(), until="approve/show-component/rk/2")
        assert request is not None and len(delivery.shown) == 1  # component 1 issued
        crash.at = crash.written  # the power fails here
        crash.dead = True
        with pytest.raises(Killed):
            machine.close()  # its abort never reaches the disk
    restart = case.machine()
    drive(restart, case.script())
    registry = parse_registry((case.folder / "registry/custodians.json").read_bytes())
    void = [r for r in registry.records if r.event is RecordEvent.VOIDED]
    assert [(r.set, r.component, r.person, r.ceremony) for r in void] == [
        ("crash-split-backup", 1, "ebrown", "crash-split-backup.r2")
    ]
    # Entering the voided set is refused when the ceremony file is read ...
    texts = delivery.texts()
    rebuild = cases.doc(
        "reconstitute",
        "rebuild",
        module="<fake>",
        token_label="fake-token",
        label=LABEL,
        made=cases.MadeSet("crash-split-backup", "AES-CMAC 000000", ("AES-CMAC 000000",) * 2, {}),
    )
    path = write_ceremony(case.folder, rebuild, "rebuild.toml")
    machine = Machine(path, services=services(lambda c: case.fake, Capture()))
    with pytest.raises(RuleBreach, match=r"voided by ceremony 'crash-split-backup\.r2'"):
        machine.start()
    # ... and a voided component typed in for the restarted set is refused at its first line.
    issued = {
        e["data"]["index"]: e["data"]
        for e in outcome_entries(restart.outcome)
        if e["event"] == "component_issued"
    }
    key_kcv = next(
        e["data"]["kcvs"][0]
        for e in outcome_entries(restart.outcome)
        if e["event"] == "key_generated"
    )
    rebuild = cases.doc(
        "reconstitute",
        "rebuild-2",
        module="<fake>",
        token_label="fake-token",
        label=f"{LABEL}-2",
        made=cases.MadeSet(
            "crash-split-backup.r2",
            f"{key_kcv['kcv_method']} {key_kcv['kcv']}",
            tuple(f"{issued[i]['kcv_method']} {issued[i]['kcv']}" for i in (1, 2)),
            {},
        ),
    )
    rebuild["keys"][0]["label"] = LABEL
    del case.fake.state.keys[LABEL]  # destroyed since: the rebuild would store it again
    path = write_ceremony(case.folder, rebuild, "rebuild-2.toml")
    machine = Machine(path, services=services(lambda c: case.fake, Capture()))
    script = script_for(rebuild, PINS, components={f"{LABEL}.1": texts[f"{LABEL}.1"]})
    with pytest.raises(AssertionError, match="entry/rk/1/kcv refused: the KCV on this form"):
        drive(machine, script)


def test_verify_checks_the_link_to_the_aborted_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ceremony.record.links import check_restart, current_journals
    from ceremony.record.verdict import Report

    case = new_case("split-backup", tmp_path / "split")
    power_cut(case, monkeypatch, "approve/show-component/rk/2")
    restart = case.machine()
    drive(restart, case.script())
    out = case.folder / "out"
    new = journal.verify((out / "crash-split-backup.r2.journal.jsonl").read_bytes())
    assert current_journals(sorted(out.glob("*.journal.jsonl"))) == [
        out / "crash-split-backup.r2.journal.jsonl"
    ]

    def lines() -> dict[str, tuple[bool, str]]:
        report = Report("out")
        check_restart(report, new, out)
        return {line.check: (line.ok, line.reason) for line in report.lines}

    found = lines()
    assert found["aborted ceremony crash-split-backup"][0]
    assert "ABORTED at entry" in found["aborted ceremony crash-split-backup"][1]
    assert found["recovery after the aborted ceremony"][0]
    aborted = out / "crash-split-backup.journal.jsonl"
    data = aborted.read_bytes()
    aborted.write_bytes(data + data.splitlines(keepends=True)[-1])  # an entry appended again
    assert not lines()["restart link"][0]
    aborted.unlink()
    assert lines()["restart link"] == (
        False,
        "the aborted journal crash-split-backup.journal.jsonl is missing from the bundle",
    )


def _die_after(event: str, patch: pytest.MonkeyPatch) -> None:
    """The process dies right after the first ``event`` entry reaches the journal."""
    write = journal_store.JournalStore._write
    dead = {"now": False}

    def dying(store: Any, payload: bytes, entry: Any, recovering: bool = False) -> None:
        if dead["now"]:
            raise Killed
        write(store, payload, entry, recovering)
        if entry.event == event:
            dead["now"] = True
            raise Killed

    patch.setattr(journal_store.JournalStore, "_write", dying)


def _link_lines(out: Path, journal_name: str) -> dict[str, tuple[bool, str]]:
    from ceremony.record.links import check_restart
    from ceremony.record.verdict import Report

    report = Report("out")
    check_restart(report, journal.verify((out / journal_name).read_bytes()), out)
    return {line.check: (line.ok, line.reason) for line in report.lines}


@pytest.mark.parametrize(
    "second",
    ["recovery_reviewed", "key_destroyed", "registry_updated", "components_voided", "token_call"],
)
def test_a_rerun_interrupted_in_its_recovery_is_recovered_by_the_next(
    second: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, keys = _whole("split-backup", tmp_path / "whole")
    case = new_case("split-backup", tmp_path / "c")
    with monkeypatch.context() as patch:
        _die_after("component_issued", patch)  # the first attempt: key made, one part issued
        with pytest.raises(Killed):
            drive(case.machine(), case.script())
    with monkeypatch.context() as patch:
        _die_after(second, patch)  # the restart dies in its own recovery (or just after it)
        with pytest.raises(Killed):
            drive(case.machine(), case.script())
    third = case.machine()
    drive(third, case.script())
    assert third.outcome.status is Status.FINISHED
    assert third.outcome.ceremony_id == "crash-split-backup.r3"
    registry = parse_registry((case.folder / "registry/custodians.json").read_bytes())
    voided = [(r.set, r.component) for r in registry.records if r.event is RecordEvent.VOIDED]
    assert voided == [("crash-split-backup", 1)]  # voided once, by whichever restart got there
    assert set(case.fake.state.keys) == keys  # only the key of the run that finished
    lines = _link_lines(case.folder / "out", "crash-split-backup.r3.journal.jsonl")
    assert lines["recovery after the aborted ceremony"][0], lines


_CALLS = [
    ("generate-export", "generate_key"),
    ("split-backup", "generate_key"),
    ("reconstitute", "import_key"),
    ("destroy", "destroy"),
]


@pytest.mark.parametrize(("kind", "method"), _CALLS)
def test_a_kill_inside_a_token_call_then_a_rerun_recovers(
    kind: str, method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token did it, the journal never heard: the restart asks the token by label."""
    from ceremony.hsm.fake import FakeSession

    _, keys = _whole(kind, tmp_path / "whole")
    case = new_case(kind, tmp_path / "c")
    real = getattr(FakeSession, method)
    dead = {"now": False}

    def dying(self: Any, label: str, *args: Any, **kwargs: Any) -> Any:
        result = real(self, label, *args, **kwargs)
        if label == LABEL and not dead["now"]:
            dead["now"] = True
            raise Killed
        return result

    write = journal_store.JournalStore._write

    def silent(store: Any, payload: bytes, entry: Any, recovering: bool = False) -> None:
        if dead["now"]:
            raise Killed
        write(store, payload, entry, recovering)

    with monkeypatch.context() as patch:
        patch.setattr(FakeSession, method, dying)
        patch.setattr(journal_store.JournalStore, "_write", silent)
        with pytest.raises(Killed):
            drive(case.machine(), case.script())
    killed = journal.verify(
        (case.folder / "out" / f"crash-{kind}.journal.jsonl").read_bytes(), allow_torn_tail=True
    )
    assert killed.last.event == "token_call"
    restart = case.machine()
    said: list[str] = []

    def read(request: Any) -> None:
        if request.step == "recovery":
            said.extend(request.lines)

    drive(restart, case.script(), on_request=read)
    assert restart.outcome.status is Status.FINISHED
    entries = outcome_entries(restart.outcome)
    text = "\n".join(said)
    if method == "destroy":
        assert "asked the token to destroy it" in text
        earlier = [e["data"] for e in entries if e["event"] == "key_destroyed_earlier"]
        assert earlier and earlier[0]["interrupted"] is True
    else:
        assert f"Perhaps on the token: key {LABEL}" in text
        orphan = [e for e in entries if e["event"] == "key_destroyed" and "left_by" in e["data"]]
        assert [e["data"]["left_by"] for e in orphan] == [f"crash-{kind}"]
        assert entries[orphan[0]["seq"] - 1]["event"] == "token_call"  # asked before it was made
    assert set(case.fake.state.keys) == keys
    lines = _link_lines(case.folder / "out", f"crash-{kind}.r2.journal.jsonl")
    assert lines["recovery after the aborted ceremony"][0], lines


def test_a_kill_after_finished_is_never_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one step repeated instead of restarted: signing the record of a finished journal."""
    from ceremony.errors import JournalError

    total, _ = _whole("split-backup", tmp_path / "whole")
    case = new_case("split-backup", tmp_path / "c")
    with monkeypatch.context() as patch:
        Crash(total).install(patch)  # dies right after `finished` reached the disk
        with pytest.raises(Killed):
            drive(case.machine(), case.script())
    path = case.folder / "out" / "crash-split-backup.journal.jsonl"
    before = path.read_bytes()
    assert journal.verify(before, require_closed=True).last.event == journal.FINISHED
    with pytest.raises(JournalError, match="never runs twice") as refused:
        case.machine().start()
    assert "ceremony record" in refused.value.hint
    assert path.read_bytes() == before  # never marked aborted, never written again


def _on_entry(event: str, act: Any, patch: pytest.MonkeyPatch) -> None:
    """``act()`` right after the first ``event`` entry reaches the journal; the run goes on."""
    write = journal_store.JournalStore._write
    done = {"yet": False}

    def acting(store: Any, payload: bytes, entry: Any, recovering: bool = False) -> None:
        write(store, payload, entry, recovering)
        if entry.event == event and not done["yet"]:
            done["yet"] = True
            act()

    patch.setattr(journal_store.JournalStore, "_write", acting)


def _fails_then_recovers(
    monkeypatch: pytest.MonkeyPatch,
    case: Case,
    event: str,
    act: Any,
    undo: Any,
    made: list[Secret],
    expected: set[str],
    says: str,
) -> None:
    """The run stops with an error naming the cause; once it is fixed, a rerun recovers."""
    from ceremony.errors import CeremonyError

    seen: list[bytes] = []
    with monkeypatch.context() as patch:
        _on_entry(event, act, patch)
        with pytest.raises(CeremonyError, match=says):
            drive(case.machine(), case.script(), on_request=lambda r: _values(made, seen))
    undo()
    first = case.folder / "out" / f"crash-{case.kind}.journal.jsonl"
    killed = journal.verify(first.read_bytes(), allow_torn_tail=True)
    restart = case.machine()
    drive(restart, case.script(), on_request=lambda r: _values(made, seen))
    assert restart.outcome.status is Status.FINISHED
    assert restart.outcome.ceremony_id == f"crash-{case.kind}.r2"
    assert journal.verify(first.read_bytes(), require_closed=True).last.event == journal.ABORTED
    cases.check_voided(case.folder, LABEL, killed, f"crash-{case.kind}.r2")
    assert set(case.fake.state.keys) == expected
    lines = _link_lines(case.folder / "out", f"crash-{case.kind}.r2.journal.jsonl")
    assert lines["recovery after the aborted ceremony"][0], lines
    _values(made, seen)
    assert scan([case.folder], seen) == []


# Points where the medium fills: a journal entry, the key's entry, the bundle after a component.
_FULL_DISK = ["participant_present", "key_generated", "component_issued"]


@pytest.mark.parametrize("event", _FULL_DISK)
def test_a_full_disk_then_a_rerun_recovers(
    event: str,
    small_tmpfs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    secrets_made: list[Secret],
) -> None:
    from tests.engine.helpers import fill, unfill

    _, keys = _whole("split-backup", tmp_path / "whole")
    case = new_case("split-backup", small_tmpfs / "c")
    _fails_then_recovers(
        monkeypatch,
        case,
        event,
        lambda: fill(small_tmpfs),
        lambda: unfill(small_tmpfs),
        secrets_made,
        keys,
        "No space left on device",
    )


# Points where the token is used next: the login, the clear export, the store of the key.
_REMOVED_TOKEN = [
    ("split-backup", "participant_present"),
    ("split-backup", "key_generated"),
    ("reconstitute", "key_combined"),
]


@pytest.mark.parametrize(("kind", "event"), _REMOVED_TOKEN)
def test_a_removed_token_then_a_rerun_recovers(
    kind: str,
    event: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    secrets_made: list[Secret],
) -> None:
    _, keys = _whole(kind, tmp_path / "whole")
    case = new_case(kind, tmp_path / "c")
    state = case.fake.state
    _fails_then_recovers(
        monkeypatch,
        case,
        event,
        lambda: setattr(state, "present", False),
        lambda: setattr(state, "present", True),
        secrets_made,
        keys,
        "removed|went away",
    )


def test_the_restart_repeats_the_aborted_attempts_failures_for_its_record_and_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong PIN in the attempt that was then killed is on the restart's record, and verify
    lists it from the aborted journal and checks the restart repeated it."""
    from ceremony.engine.requests import AnswerRefused
    from ceremony.record import model
    from ceremony.record.pdf import render_record
    from tests.record.pdftools import all_text

    case = new_case("split-backup", tmp_path / "c")

    def wrong_pin(first: Machine) -> None:
        with pytest.raises(AnswerRefused):
            first.answer("not-the-pin-7731", by="amartin")

    power_cut(case, monkeypatch, "hsm/user-pin", wrong_pin)
    restart = case.machine()
    drive(restart, case.script())
    assert restart.outcome.journal is not None
    data = restart.outcome.journal.read_bytes()
    built = model.build(journal.verify(data, require_closed=True))
    assert [(a.ceremony, a.kind, a.participants) for a in built.earlier_attempts] == [
        ("crash-split-backup", "pin", ("amartin",))
    ]
    text = " ".join(all_text(render_record(data)).split())
    assert "Failed attempts of the aborted ceremony crash-split-backup" in text
    assert "and 1 in the aborted attempt(s) this ceremony restarts" in text
    lines = _link_lines(case.folder / "out", "crash-split-backup.r2.journal.jsonl")
    seq = built.earlier_attempts[0].seq
    ok, reason = lines[f"failed attempt, crash-split-backup entry {seq}"]
    assert ok and reason.startswith("wrong PIN")
    assert lines["failed attempts of the aborted ceremonies"][0]
    assert "not-the-pin-7731" not in data.decode()


def test_a_stop_right_after_the_genesis_entry_is_journaled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside ``start``, after the journal exists: the abort is written, not an open genesis."""
    from ceremony.engine import machine as machine_module

    case = new_case("split-backup", tmp_path / "c")

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(machine_module.flows, "plan", interrupted)
        with pytest.raises(KeyboardInterrupt):
            case.machine().start()
    first = case.folder / "out" / "crash-split-backup.journal.jsonl"
    closed = journal.verify(first.read_bytes(), require_closed=True)
    assert [e.event for e in closed.entries] == ["genesis", journal.ABORTED]
    assert "Ctrl-C" in str(closed.last.data["reason"])
    restart = case.machine()
    drive(restart, case.script())
    assert restart.outcome.status is Status.FINISHED


def test_a_full_medium_at_the_registry_write_is_named_and_the_rerun_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    from ceremony.engine import registry_store
    from ceremony.errors import OutputError

    case = new_case("split-backup", tmp_path / "c")

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(registry_store, "install", full)
        with pytest.raises(OutputError, match=r"writing the custodian registry .* No space"):
            drive(case.machine(), case.script())
    first = case.folder / "out" / "crash-split-backup.journal.jsonl"
    closed = journal.verify(first.read_bytes(), require_closed=True)
    failed = next(e for e in closed.entries if e.event == "step_failed")
    assert "writing the custodian registry" in str(failed.data["error"])
    restart = case.machine()
    drive(restart, case.script())
    assert restart.outcome.status is Status.FINISHED
