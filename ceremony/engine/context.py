"""What every step shares: the run's file and people, the journal, asking, secrets, the HSM."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ceremony.core import events, providers, rng
from ceremony.core.airgap_rules import AirGapVerdict
from ceremony.core.ceremony_file import CeremonyFile, ComponentSpec, KeyEntry, TargetEntry
from ceremony.core.journal import SecretScreen
from ceremony.core.registry import RegistryRecord
from ceremony.core.rules import PassphraseRecord, Role, Roster
from ceremony.core.secret import Secret
from ceremony.engine.attempts import Attempts
from ceremony.engine.journal_store import JournalStore
from ceremony.engine.printing import FormPrinter
from ceremony.engine.registry_store import RegistryFile
from ceremony.engine.requests import (
    Answer,
    AnswerRefused,
    ComponentDelivery,
    Refusal,
    Request,
    RequestKind,
    Who,
)
from ceremony.engine.step_id import StepId
from ceremony.errors import CeremonyError, HsmError
from ceremony.hsm.base import HsmBackend, HsmConfig, HsmSession, Preflight
from ceremony.record.printer import PrinterOverride

if TYPE_CHECKING:
    from ceremony.engine.steps.recovery import Restart

T = TypeVar("T")
# A step: each yield hands the machine a Request (or a Refusal: the last answer refused, ask
# again) and receives the Answer. No step reads a terminal, prints or sleeps.
Flow = Generator[Request | Refusal, Answer, T]
ProviderTarget = providers.TargetSpec

YES = "yes"


class Stopped(Exception):
    """The people in the room chose to stop; the machine journals an abort with ``reason``."""

    def __init__(self, reason: str, by: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.by = by


class FlowError(CeremonyError):
    """The ceremony flow asked for something its own plan does not have: a bug in the tool."""


@dataclass
class LoadedTarget:
    """A ceremony-file target with the provider's import key read from its file."""

    spec: TargetEntry
    target: ProviderTarget


@dataclass
class Services:
    """What the machine needs from outside, injected so tests can replace each part."""

    backend: Callable[[HsmConfig], HsmBackend]
    airgap: Callable[[], AirGapVerdict]
    clock: Callable[[], datetime]
    delivery: ComponentDelivery | None
    resolve: Callable[[str, str | None, str | None], HsmConfig]
    rehearsal_token: Callable[[HsmConfig], bool]
    workstation: str
    printer: FormPrinter | None = None  # production component forms (ceremony file [printer])


class Context:
    """One run of one ceremony: the file, the people, the journal, the token, the secrets."""

    def __init__(
        self,
        *,
        ceremony: CeremonyFile,
        base: Path,
        rehearsal: bool,
        services: Services,
        store: JournalStore,
        run: int,
        output: Path,
        registry: RegistryFile | None,
        targets: dict[str, list[LoadedTarget]],
        hsm_config: HsmConfig,
        stages: Sequence[tuple[StepId, str]],
        ceremony_id: str | None = None,
        restart: Restart | None = None,
    ) -> None:
        self.cf = ceremony
        # The file's id, or ``<id>.r<n>`` for a restart after n - 1 aborted attempts.
        self._ceremony_id = ceremony_id or ceremony.ceremony.id
        self.restart = restart
        self.base = base
        self.rehearsal = rehearsal
        self.services = services
        self.store = store
        self.run = run
        self.output = output
        self.registry = registry
        self.targets = targets
        # Received TR-31 blocks by key label (read and header-checked before any work), and the
        # clear KBPKs loaded in this run that later blocks are opened under.
        self.key_blocks: dict[str, str] = {}
        self.kbpks: dict[str, Secret] = {}
        self.hsm_config = hsm_config
        self.roster: Roster = ceremony.roster
        self.stages = list(stages)
        self._stage_index = {sid: i for i, (sid, _) in enumerate(self.stages)}
        self.stage_no = 0
        self.stage_title = self.stages[0][1] if self.stages else ""
        self.passphrases: dict[str, PassphraseRecord] = {}  # set at roll call
        self.attempts = Attempts()  # failed attempts against the tool's try limits
        self.notices: list[str] = []
        self.exit = ExitStack()
        self.secrets: list[Secret] = []
        self.screen = SecretScreen(lambda: self.secrets)  # what journal messages must not hold
        self.stage_id: StepId | None = None
        self.asking: StepId | None = None  # the request being asked or answered
        self.session: HsmSession | None = None
        self.token: tuple[HsmBackend, Preflight] | None = None  # set by the token check
        # A second token that signs the record ([signing] module), and what signs: set at login.
        self.signing_token: tuple[HsmBackend, Preflight] | None = None
        self.signer: tuple[HsmSession, str] | None = None
        self.signed_record: Path | None = None
        self.record_error: str | None = None  # why record.pdf was not written (finished anyway)
        self.bundle_name = "bundle" if run == 1 else f"bundle-{self._ceremony_id}"
        self.bundle_created = False
        self.outputs: list[str] = []
        self.new_records: list[RegistryRecord] = []
        self.counts: dict[str, int] = {}
        self.airgap_override_pending: AirGapVerdict | None = None
        self.printer_override: PrinterOverride | None = None

    # ---- the run --------------------------------------------------------------------------

    @property
    def ceremony_id(self) -> str:
        return self._ceremony_id

    def now(self) -> datetime:
        return self.services.clock()

    def stage(self, stage_id: StepId) -> None:
        """Enter a stage of the plan; a stage the plan does not list is a bug, never skipped."""
        index = self._stage_index.get(stage_id)
        if index is None:
            raise FlowError(
                f"the ceremony flow entered stage {stage_id}, which its plan does not list",
                hint="this is a bug in the ceremony tool; nothing more is done in this run",
            )
        self.stage_no = index
        self.stage_title = self.stages[index][1]
        self.stage_id, self.asking = stage_id, None

    @property
    def step(self) -> str:
        """The step in progress, for a failure: the request being answered, else the stage."""
        current = self.asking or self.stage_id
        return str(current) if current is not None else "start"

    def checked_token(self) -> tuple[HsmBackend, Preflight]:
        """The backend and preflight of the token check, which runs before roll call."""
        if self.token is None:
            raise FlowError(
                "the ceremony flow reached the HSM login before the token check",
                hint="this is a bug in the ceremony tool; nothing more is done in this run",
            )
        return self.token

    def notice(self, text: str) -> None:
        self.notices.append(text)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def journal(self, event: events.Event, actors: Sequence[str] = ()) -> None:
        self.store.append(event.name, list(dict.fromkeys(actors)), event.data)

    def keep(self, secret: Secret) -> Secret:
        """Register ``secret`` to be wiped when the run ends, whatever happens."""
        self.secrets.append(secret)
        return secret

    def wipe(self) -> None:
        for secret in self.secrets:
            secret.close()
        self.secrets.clear()

    @property
    def printing(self) -> bool:
        """Component forms go to the printer: production with a ``[printer]`` section."""
        return self.cf.prints_forms(self.rehearsal)

    # ---- who answers ----------------------------------------------------------------------

    def person(self, person_id: str) -> Who:
        p = self.roster.get(person_id)
        return Who(p.id, p.role, (p.id,), f"{p.describe()}, {p.role.title}")

    def anyone(self, candidates: Sequence[str], text: str) -> Who:
        return Who(None, None, tuple(candidates), text)

    def officers(self, exclude: Sequence[str] = ()) -> Who:
        ids = [p.id for p in self.roster.with_role(Role.SECURITY_OFFICER) if p.id not in exclude]
        return self.anyone(ids, "one security officer: " + self.roster.who(ids))

    @staticmethod
    def custodians(spec: ComponentSpec) -> list[str]:
        """The custodian of a component and their backup: the actors of its journal entries."""
        return [spec.custodian, *([spec.backup] if spec.backup else [])]

    def holders(self, key: KeyEntry) -> frozenset[str]:
        """Everyone who holds (or is to hold) a component of ``key``."""
        people = set(key.split.holders())
        if key.new_split is not None:
            people |= key.new_split.holders()
        return frozenset(people)

    def _answerer(self, request: Request, answer: Answer) -> str:
        who = request.who
        if who.participant is not None:
            if answer.by not in (None, who.participant):
                raise AnswerRefused(
                    f"this step is for {who.text}, not {self.roster.who([answer.by or ''])}",
                    hint=f"{who.text} answers it",
                )
            return who.participant
        if answer.by is None:
            raise AnswerRefused(
                "say who answers", hint="choose yourself from: " + self.roster.who(who.candidates)
            )
        if answer.by not in self.roster:
            raise AnswerRefused(
                f"{answer.by[:64]!r} is not a participant of this ceremony",
                hint="choose yourself from: " + self.roster.who(who.candidates),
            )
        if request.kind is not RequestKind.APPROVAL and answer.by not in who.candidates:
            raise AnswerRefused(
                f"{self.roster.who([answer.by])} may not answer this step",
                hint="it is for " + self.roster.who(who.candidates),
            )
        return answer.by

    # ---- asking ---------------------------------------------------------------------------

    def request(
        self,
        step: StepId,
        who: Who,
        kind: RequestKind,
        prompt: str,
        **extra: object,
    ) -> Request:
        return Request(
            step_id=step,
            stage=self.stage_no + 1,
            stages=len(self.stages),
            title=self.stage_title,
            who=who,
            kind=kind,
            prompt=prompt,
            **extra,  # type: ignore[arg-type]
        )

    def ask(
        self,
        request: Request,
        accept: Callable[[str, str], T],
        refused: AnswerRefused | None = None,
        tries: Callable[[], str] | None = None,
    ) -> Flow[T]:
        """Ask ``request`` until ``accept(value, by)`` takes the answer (AnswerRefused: again).

        ``tries`` gives the request's tries left afresh each time it is asked again.
        """

        def fresh() -> Request:
            return request if tries is None else dataclasses.replace(request, tries=tries())

        self.asking = request.step_id
        answer = yield (fresh() if refused is None else Refusal(fresh(), refused))
        while True:
            try:
                by = self._answerer(request, answer)
                value = accept(answer.value, by)
            except AnswerRefused as ex:
                answer = yield Refusal(fresh(), ex)
                continue
            self.asking = None  # what follows an accepted answer is the stage's own work
            return value

    def ask_for(
        self,
        step: StepId,
        who: Who,
        kind: RequestKind,
        prompt: str,
        accept: Callable[[str, str], T],
        refused: AnswerRefused | None = None,
        *,
        tries: Callable[[], str] | None = None,
        **extra: object,
    ) -> Flow[T]:
        """``ask`` a request made here (``extra``: its further fields)."""
        request = self.request(step, who, kind, prompt, **extra)
        return (yield from self.ask(request, accept, refused, tries))

    def confirm(self, step: StepId, who: Who, prompt: str, lines: Sequence[str] = ()) -> Flow[str]:
        """``who`` types yes once done; who confirmed."""

        def accept(value: str, by: str) -> str:
            if value.strip().lower() != YES:
                raise AnswerRefused(
                    "not confirmed", hint="type yes once it is done, or stop the ceremony"
                )
            return by

        return (
            yield from self.ask_for(
                step, who, RequestKind.CONFIRMATION, prompt, accept, lines=tuple(lines)
            )
        )

    def choose(
        self,
        step: StepId,
        who: Who,
        prompt: str,
        choices: Sequence[str],
        *,
        hint: str,
        message: str | None = None,
        **extra: object,
    ) -> Flow[tuple[str, str]]:
        """One of ``choices`` and who chose it; anything else is refused with ``hint``."""

        def accept(value: str, by: str) -> tuple[str, str]:
            choice = value.strip().lower()
            if choice not in choices:
                raise AnswerRefused(
                    message or f"{value[:20]!r} is not one of " + ", ".join(choices), hint=hint
                )
            return choice, by

        return (
            yield from self.ask(
                self.request(
                    step, who, RequestKind.CHOICE, prompt, choices=tuple(choices), **extra
                ),
                accept,
            )
        )

    # ---- the token ------------------------------------------------------------------------

    @property
    def hsm(self) -> HsmSession:
        if self.session is None:
            raise HsmError("the HSM is not open", hint="this is a bug in the ceremony flow")
        return self.session

    def token_random(self) -> ExitStack:
        """A block in which ``ceremony.core.rng`` draws from the token (every component draw)."""
        stack = ExitStack()
        source, name = self.hsm.random_source()
        stack.enter_context(rng.installed(source, name))
        return stack
