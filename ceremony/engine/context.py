"""The steps every ceremony shares: asking, approving, roll call, air gap, HSM login, components.

Flows are generators: each ``yield`` hands a ``Request`` to the machine and receives the
``Answer``; a ``Refusal`` refuses the last answer and asks again. Nothing here reads a terminal,
prints or sleeps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from cryptography import x509

from ceremony.core import encoding, events, kcv, providers, rng
from ceremony.core.airgap_rules import AirGapVerdict, require_air_gap
from ceremony.core.ceremony_file import (
    CeremonyFile,
    ComponentSpec,
    HsmLogin,
    KeyEntry,
    KeyType,
    SplitSpec,
    TargetEntry,
    WrapPlace,
)
from ceremony.core.component import Component, KeyIdentity, Scheme
from ceremony.core.journal import (
    FileDigest,
    JournalValue,
    Label,
    PublicId,
    Text,
    format_time,
    looks_secret,
)
from ceremony.core.kcv import CheckValue
from ceremony.core.providers import BundleFile
from ceremony.core.registry import RecordEvent, RegistryRecord, issue_records
from ceremony.core.rules import (
    Operation,
    Participant,
    PassphraseRecord,
    PlannedOperation,
    Role,
    Roster,
    RuleBreach,
    eligible_approvers,
    hash_passphrase,
    require_dual_control,
    require_dual_control_possible,
    require_may_approve,
    require_may_see_component,
    verify_passphrase,
)
from ceremony.core.secret import Secret
from ceremony.core.shamir import share_length
from ceremony.engine.journal_store import JournalStore
from ceremony.engine.printing import FormPrinter
from ceremony.engine.registry_store import RegistryFile, write_registry
from ceremony.engine.requests import (
    AGAIN,
    REFUSE,
    Answer,
    AnswerRefused,
    ComponentDelivery,
    ComponentSheet,
    EntryField,
    FingerprintCheck,
    Refusal,
    Request,
    RequestKind,
    Who,
)
from ceremony.errors import (
    CeremonyError,
    CheckValueError,
    ComponentFormatError,
    HsmError,
    MechanismNotSupportedError,
    PinIncorrectError,
    PrintError,
    RuleViolation,
)
from ceremony.hsm.base import (
    Capability,
    HsmBackend,
    HsmConfig,
    HsmSession,
    KeyAttributes,
    PinRequest,
    PinRole,
    PinState,
    Preflight,
    TrustRequest,
    WrapConstruction,
)
from ceremony.hsm.base import KeySpec as TokenKeySpec
from ceremony.output import write_bundle
from ceremony.record.printer import PrinterKind, PrinterOverride, classify

T = TypeVar("T")
Flow = Generator[Request | Refusal, Answer, T]
ProviderTarget = providers.AwsTarget | providers.AzureTarget | providers.GcpTarget

MAX_PASSPHRASE_FAILURES = 3
MAX_SERIAL_MISMATCHES = 3  # a misread serial is typed again; a third mismatch is a swap
YES = "yes"
REHEARSAL_NOTE = b"REHEARSAL output: made for practice, never import it into a production key.\n"


class Stopped(Exception):
    """The people in the room chose to stop; the machine journals an abort with ``reason``."""

    def __init__(self, reason: str, by: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.by = by


@dataclass
class LoadedTarget:
    """A ceremony-file target with the provider's import key read from its file."""

    spec: TargetEntry
    target: ProviderTarget


@dataclass
class _Pins:
    """Hands the PINs the officers typed to one login; wiped afterwards."""

    pins: dict[PinRole, Secret] = field(default_factory=dict)
    last_try: dict[PinRole, bool] = field(default_factory=dict)

    def pin(self, request: PinRequest) -> Secret:
        secret = self.pins.pop(request.role, None)
        if secret is None:
            raise HsmError(
                f"no {request.role.value} PIN was typed for this login",
                hint="this is a bug in the ceremony flow; start again",
            )
        return secret  # the backend wipes it right after C_Login

    def confirm_final_try(self, request: PinRequest) -> bool:
        return self.last_try.get(request.role, False)

    def wipe(self) -> None:
        for secret in self.pins.values():
            secret.close()
        self.pins.clear()


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
        stages: Sequence[tuple[str, str]],
    ) -> None:
        self.cf = ceremony
        self.base = base
        self.rehearsal = rehearsal
        self.services = services
        self.store = store
        self.run = run
        self.output = output
        self.registry = registry
        self.targets = targets
        self.hsm_config = hsm_config
        self.roster: Roster = ceremony.roster
        self.stages = list(stages)
        self._stage_index = {sid: i for i, (sid, _) in enumerate(self.stages)}
        self.stage_no = 0
        self.stage_title = self.stages[0][1] if self.stages else ""
        self.passphrases: dict[str, PassphraseRecord] = {}
        self.failures: dict[str, int] = {}
        self.notices: list[str] = []
        self.exit = ExitStack()
        self.secrets: list[Secret] = []
        self.session: HsmSession | None = None
        self.signed_record: Path | None = None
        self.bundle_name = "bundle" if run == 1 else f"bundle-run-{run}"
        self.bundle_created = False
        self.outputs: list[str] = []
        self.new_records: list[RegistryRecord] = []
        self.airgap_override_pending: AirGapVerdict | None = None
        self.counts: dict[str, int] = {}
        self.printer_override: PrinterOverride | None = None

    # ---- plumbing -------------------------------------------------------------------------

    @property
    def ceremony_id(self) -> str:
        return self.cf.ceremony.id

    def now(self) -> datetime:
        return self.services.clock()

    def stage(self, stage_id: str) -> None:
        index = self._stage_index.get(stage_id)
        if index is not None:
            self.stage_no = index
            self.stage_title = self.stages[index][1]

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

    def request(
        self,
        step: str,
        who: Who,
        kind: RequestKind,
        prompt: str,
        **extra: object,
    ) -> Request:
        return Request(
            step=step,
            stage=self.stage_no + 1,
            stages=len(self.stages),
            title=self.stage_title,
            who=who,
            kind=kind,
            prompt=prompt,
            **extra,  # type: ignore[arg-type]
        )

    def person(self, person_id: str) -> Who:
        p = self.roster.get(person_id)
        return Who(p.id, p.role, (p.id,), f"{p.describe()}, {p.role.title}")

    def anyone(self, candidates: Sequence[str], text: str) -> Who:
        return Who(None, None, tuple(candidates), text)

    def officers(self, exclude: Sequence[str] = ()) -> Who:
        ids = [p.id for p in self.roster.with_role(Role.SECURITY_OFFICER) if p.id not in exclude]
        return self.anyone(ids, "one security officer: " + self.roster.who(ids))

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

    def ask(
        self,
        request: Request,
        accept: Callable[[str, str], T],
        refused: AnswerRefused | None = None,
    ) -> Flow[T]:
        """Ask ``request`` until ``accept(value, by)`` takes the answer (AnswerRefused: again)."""
        answer = yield (request if refused is None else Refusal(request, refused))
        while True:
            try:
                by = self._answerer(request, answer)
                return accept(answer.value, by)
            except AnswerRefused as ex:
                answer = yield Refusal(request, ex)

    def confirm(self, step: str, who: Who, prompt: str, lines: Sequence[str] = ()) -> Flow[str]:
        def accept(value: str, by: str) -> str:
            if value.strip().lower() != YES:
                raise AnswerRefused(
                    "not confirmed", hint="type yes once it is done, or stop the ceremony"
                )
            return by

        request = self.request(step, who, RequestKind.CONFIRMATION, prompt, lines=tuple(lines))
        return (yield from self.ask(request, accept))

    # ---- approvals ------------------------------------------------------------------------

    def check_passphrase(self, person_id: str, value: str) -> None:
        record = self.passphrases.get(person_id)
        who = self.roster.get(person_id).describe()
        if record is None:
            raise AnswerRefused(
                f"{who} has no approval passphrase", hint="only people at roll call approve"
            )
        try:
            verify_passphrase(record, value, who)
        except RuleBreach as ex:
            failures = self.failures.get(person_id, 0) + 1
            self.failures[person_id] = failures
            if failures >= MAX_PASSPHRASE_FAILURES:
                raise RuleViolation(
                    f"{failures} wrong approval passphrases for {who}: the ceremony stops",
                    hint="nobody may guess another's passphrase; start the ceremony again",
                ) from None
            raise AnswerRefused.of(ex) from None

    def approve(
        self,
        operation: Operation,
        key: str,
        *,
        index: int | None = None,
        target: str | None = None,
        involved: frozenset[str] = frozenset(),
        custodian: str | None = None,
        lines: Sequence[str] = (),
        journal: bool = True,
        fingerprint: FingerprintCheck | None = None,
    ) -> Flow[list[str]]:
        """Two approvals by distinct eligible people, each with their own passphrase.

        With ``fingerprint`` (an import key to compare with the cloud console) an approver may
        answer ``REFUSE`` instead: it does not match, and the ceremony stops.
        """
        subject = events.subject(key, index, target)
        approvers: list[str] = []
        step = f"approve/{operation.value}/{key}"
        step += f"/{index}" if index is not None else ""
        step += f"/{target}" if target is not None else ""
        for n in (1, 2):
            candidates = eligible_approvers(operation, self.roster, approvers, involved)

            def accept(value: str, by: str) -> str:
                try:
                    require_may_approve(
                        operation, by, self.roster, approvers, involved, f"{subject}"
                    )
                except RuleBreach as ex:
                    raise AnswerRefused.of(ex) from None
                if fingerprint is not None and value.strip().lower() == REFUSE:
                    raise Stopped(
                        f"{self.roster.get(by).describe()} refused the import key of target "
                        f"{fingerprint.target!r} ({fingerprint.provider}): its fingerprint does "
                        "not match the cloud console",
                        by,
                    )
                self.check_passphrase(by, value)
                return by

            request = self.request(
                f"{step}/{n}",
                self.anyone(candidates, "an approver: " + self.roster.who(candidates)),
                RequestKind.APPROVAL,
                f"Approval {n} of 2 to {operation.description} ({subject}): the approver "
                "chooses themselves and types their approval passphrase."
                + (
                    f" If it does not match the cloud console, type {REFUSE} instead: the "
                    "ceremony stops."
                    if fingerprint is not None
                    else ""
                ),
                operation=operation,
                lines=tuple(lines),
                fingerprint=fingerprint,
            )
            approvers.append((yield from self.ask(request, accept)))
        require_dual_control(operation, approvers, self.roster, involved, subject)
        if journal:
            self.journal(
                events.approval(
                    operation=operation,
                    key=key,
                    index=index,
                    target=target,
                    approvers=approvers,
                    custodian=custodian,
                ),
                approvers,
            )
        return approvers

    # ---- air gap, roll call, clock --------------------------------------------------------

    def airgap(self) -> Flow[None]:
        self.stage("airgap")
        choices = ("recheck", "override", "stop")

        def accept(value: str, by: str) -> tuple[str, str]:
            choice = value.strip().lower()
            if choice not in choices:
                raise AnswerRefused(
                    f"{value[:20]!r} is not one of " + ", ".join(choices),
                    hint="recheck after unplugging the network, override (two security "
                    "officers approve after roll call) or stop",
                )
            return choice, by

        while True:
            verdict = self.services.airgap()
            self.notices += verdict.lines()
            if verdict.isolated or self.rehearsal:
                if not verdict.isolated:
                    self.notice("This is a rehearsal: it goes on and the journal records it.")
                self.journal(self._airgap_event(verdict))
                return

            request = self.request(
                "airgap/choice",
                self.officers(),
                RequestKind.CHOICE,
                "This machine is not air-gapped. Unplug every network cable, block every radio "
                "(rfkill block all) and recheck; or two security officers override after roll "
                "call; or stop.",
                lines=tuple(verdict.lines()),
                choices=choices,
            )
            choice, by = yield from self.ask(request, accept)
            if choice == "stop":
                self.journal(self._airgap_event(verdict), [by])
                raise Stopped("stopped: the machine is not air-gapped", by)
            if choice == "override":
                self.airgap_override_pending = verdict
                return

    def _airgap_event(
        self, verdict: AirGapVerdict, override_by: Sequence[str] | None = None
    ) -> events.Event:
        return events.airgap_checked(
            isolated=verdict.isolated,
            findings=[f.describe() for f in verdict.findings],
            interfaces=verdict.interfaces,
            override_by=override_by,
        )

    def airgap_override(self) -> Flow[None]:
        """After roll call: check again, and two security officers override if still networked."""
        if self.airgap_override_pending is None:
            return
        self.stage("airgap")
        verdict = self.services.airgap()
        if verdict.isolated:
            self.notices += verdict.lines()
            self.journal(self._airgap_event(verdict))
            return
        officers = yield from self.approve(
            Operation.AIRGAP_OVERRIDE,
            self.ceremony_id,
            lines=verdict.lines(),
            journal=False,
        )
        require_air_gap(verdict, rehearsal=False, overriders=officers, roster=self.roster)
        self.journal(self._airgap_event(verdict, officers), officers)
        self.notice("Air-gap override approved by " + self.roster.who(officers) + ".")

    def roll_call(self) -> Flow[None]:
        for person in self.cf.participants:
            yield from self._roll_call_one(person)

    def _roll_call_one(self, person: Participant) -> Flow[None]:
        self.stage(f"roll-call/{person.id}")
        who = self.person(person.id)
        yield from self.confirm(
            f"roll-call/{person.id}/present",
            who,
            f"{person.name}: show {person.id_reference} to the security officer, then type yes "
            f"to confirm you are {person.name} ({person.id}) and take part as "
            f"{person.role.title}.",
        )
        first = self.request(
            f"roll-call/{person.id}/passphrase",
            who,
            RequestKind.SECRET,
            f"{person.name}: choose your approval passphrase for this ceremony (at least 8 "
            "characters; only you type it; the others look away).",
        )
        again = self.request(
            f"roll-call/{person.id}/passphrase-again",
            who,
            RequestKind.SECRET,
            f"{person.name}: type your approval passphrase again.",
        )

        def choose(value: str, by: str) -> PassphraseRecord:
            try:
                return hash_passphrase(value)
            except RuleViolation as ex:
                raise AnswerRefused.of(ex) from None

        refused: AnswerRefused | None = None
        while True:
            record = yield from self.ask(first, choose, refused)

            def repeat(value: str, by: str, record: PassphraseRecord = record) -> bool:
                try:
                    verify_passphrase(record, value)
                except RuleBreach:
                    return False
                return True

            if (yield from self.ask(again, repeat)):
                break
            refused = AnswerRefused(
                "the two passphrases differ", hint="choose the passphrase again and type it twice"
            )
        self.passphrases[person.id] = record
        self.journal(events.participant_present(person, record), [person.id])

    def clock(self) -> Flow[None]:
        self.stage("clock")
        system = self.now()
        shown = system.astimezone(UTC).strftime("%Y-%m-%d %H:%M")

        def accept(value: str, by: str) -> tuple[str, str]:
            text = value.strip()
            if text.lower() == "same":
                return shown, by
            try:
                moment = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            except ValueError:
                raise AnswerRefused(
                    "not a time in the form YYYY-MM-DD HH:MM",
                    hint="type the UTC time an independent clock shows, or 'same'",
                ) from None
            return moment.strftime("%Y-%m-%d %H:%M"), by

        request = self.request(
            "clock",
            self.officers(),
            RequestKind.PUBLIC,
            f"The workstation clock reads {shown} UTC. Read an independent clock and type the "
            "UTC time it shows (YYYY-MM-DD HH:MM), or 'same' if it agrees to the minute.",
        )
        attested, by = yield from self.ask(request, accept)
        self.journal(
            events.time_attested(system_time=system, attested_time=attested, attested_by=[by]),
            [by],
        )

    # ---- cloud import keys ----------------------------------------------------------------

    def confirm_import_keys(self) -> Flow[None]:
        for key in self.cf.keys:
            for loaded in self.targets.get(key.label, []):
                yield from self._confirm_import_key(key, loaded)

    def _confirm_import_key(self, key: KeyEntry, loaded: LoadedTarget) -> Flow[None]:
        spec, target = loaded.spec, loaded.target
        self.stage(f"import-key/{key.label}/{spec.label}")
        import_key = target.import_key
        fingerprint = import_key.fingerprint
        pinned = spec.pinned
        details = [
            f"Target {spec.label}: {spec.provider.value}, {target.method.value}, "
            f"RSA-{import_key.key_bits}",
            f"Reference: {import_key.reference or '(none)'}",
        ]
        if import_key.valid_to is not None:
            details.append(f"Valid until {format_time(import_key.valid_to)}")
        check = FingerprintCheck(
            key.label, spec.label, spec.provider.value, fingerprint, pinned, tuple(details)
        )
        if check.mismatch:
            assert pinned is not None
            refused = RuleViolation(
                f"the import key of target {spec.label!r} ({spec.provider.value}) is not the one "
                "the ceremony file pins: the ceremony stops",
                hint="download the wrapping key again, compare it with the cloud console, and "
                "check the ceremony file; never edit the pin to make it pass",
            )

            def stop(value: str, by: str) -> str:
                if value.strip().lower() != "stop":
                    raise AnswerRefused("this import key can only be refused", hint="answer stop")
                return by

            # Shown before stopping, so the officers see both fingerprints, then journaled.
            yield from self.ask(
                self.request(
                    f"import-key/{key.label}/{spec.label}/mismatch",
                    self.officers(),
                    RequestKind.CHOICE,
                    f"{refused.message}. A security officer reads both fingerprints and stops.",
                    lines=(
                        *details,
                        f"This key (SHA-256):    {fingerprint.groups()}",
                        f"Pinned in the file:    {pinned.groups()}",
                    ),
                    choices=("stop",),
                    fingerprint=check,
                ),
                stop,
            )
            raise refused
        lines = [
            *details[:2],
            f"Fingerprint (SHA-256 of the key): {fingerprint.groups()}",
            *(f"  {line}" for line in fingerprint.word_lines()),
            "Pinned in the ceremony file: "
            + ("yes, and it matches" if pinned is not None else "no (rehearsal)"),
            *details[2:],
        ]
        officers = yield from self.approve(
            Operation.CONFIRM_IMPORT_KEY,
            key.label,
            target=spec.label,
            lines=lines,
            journal=False,
            fingerprint=check,
        )
        self.journal(
            events.import_key_confirmed(
                key=key.label,
                target=spec.label,
                provider=spec.provider.name.lower(),
                method=target.method.value,
                fingerprint=fingerprint,
                confirmed_by=officers,
                pinned=pinned is not None,
                valid_to=import_key.valid_to,
            ),
            officers,
        )

    # ---- the HSM --------------------------------------------------------------------------

    def trust_request(self) -> TrustRequest:
        import_keys: list[bytes] = []
        composite = 0
        exports = 0
        kind = self.cf.ceremony.type.value
        for key in self.cf.keys:
            for loaded in self.targets.get(key.label, []):
                if loaded.spec.wrap is WrapPlace.HSM:
                    import_keys.append(loaded.target.import_key.spki_der)
                    composite += 1 if loaded.target.method.composite else 0
            software = any(t.wrap is WrapPlace.SOFTWARE for t in key.targets)
            exported = kind == "split-backup" and key.source.value in ("hsm", "hsm-key")
            if exported or (kind == "generate-export" and software):
                exports += 1
        return TrustRequest(tuple(dict.fromkeys(import_keys)), composite, exports)

    def require_capabilities(self, preflight: Preflight) -> None:
        kind = self.cf.ceremony.type.value
        needs: list[tuple[Capability, str]] = []
        for key in self.cf.keys:
            what = f"key {key.label!r}"
            if key.source.value == "hsm":
                family = {
                    KeyType.AES: Capability.GENERATE_AES,
                    KeyType.HMAC: Capability.GENERATE_HMAC,
                    KeyType.EC: Capability.GENERATE_EC,
                    KeyType.RSA: Capability.GENERATE_RSA,
                }[key.type]
                needs.append((family, f"generating {what}"))
            if key.type is KeyType.AES:
                needs.append((Capability.KCV_AES_CMAC, f"check values of {what}"))
            if key.type is KeyType.HMAC:
                needs.append((Capability.KCV_HMAC, f"check values of {what}"))
            if kind in ("split-backup", "re-split") or any(
                t.wrap is WrapPlace.SOFTWARE for t in key.targets
            ):
                needs.append((Capability.RANDOM, f"randomness for {what}"))
            if kind == "split-backup" and key.source.value in ("hsm", "hsm-key"):
                needs.append((Capability.AES_KWP, f"exporting {what} to split it"))
            for loaded in self.targets.get(key.label, []):
                if loaded.spec.wrap is not WrapPlace.HSM:
                    continue
                method = loaded.target.method
                hash_cap = (
                    Capability.OAEP_SHA1
                    if method.oaep_hash.value.upper().replace("-", "") == "SHA1"
                    else Capability.OAEP_SHA256
                )
                purpose = f"target {loaded.spec.label} ({method.value})"
                needs.append((hash_cap, purpose))
                if method.composite:
                    needs.append((Capability.AES_KWP, purpose))
        for capability, purpose in needs:
            preflight.require(
                capability,
                purpose,
                alternatives="choose a method this token can do, wrap = 'software' under dual "
                "control, or another token; the tool never falls back on its own",
            )

    def hsm_login(self) -> Flow[None]:
        self.stage("hsm")
        backend = self.services.backend(self.hsm_config)
        preflight = backend.preflight()
        self.require_capabilities(preflight)
        trust = self.trust_request()
        refused: AnswerRefused | None = None
        while True:
            info = backend.describe()
            pins = _Pins()
            typed: list[str] = []
            try:
                roles = ([PinRole.SO] if not trust.empty else []) + [PinRole.USER]
                for role in roles:
                    state = info.so_pin if role is PinRole.SO else info.user_pin
                    if state is PinState.FINAL_TRY:
                        yield from self.confirm(
                            f"hsm/{role.name.lower()}-pin/last-try",
                            self.officers(),
                            f"The token reports ONE {role.value} PIN try left: a wrong PIN now "
                            "locks it. Type yes to use the last try.",
                        )
                        pins.last_try[role] = True
                    pin, by = yield from self._collect_pin(role, info.label, refused, state)
                    refused = None
                    pins.pins[role] = pin
                    typed += by
                try:
                    session = backend.open(pins, trust=trust)
                except PinIncorrectError as ex:
                    refused = AnswerRefused.of(ex)
                    continue
            finally:
                pins.wipe()
            break
        self.session = session
        self.exit.callback(session.close)
        token = session.token
        officers = list(dict.fromkeys(typed))
        certificate, cn = self._signing_certificate(session)
        self.journal(
            events.hsm_opened(
                module=token.module_path,
                token_label=token.label,
                serial=token.serial,
                model=token.model,
                manufacturer=token.manufacturer,
                firmware=token.firmware_version,
                library=f"{token.library_description} {token.library_version}",
                preflight=preflight.lines(),
                login=self.cf.hsm.login.value,
                officers=officers,
                signing_certificate=certificate,
                signing_certificate_cn=cn,
            ),
            officers,
        )
        if certificate is None:
            self.notice(
                "The token holds no ceremony signing certificate: the "
                "journal records that, and the record cannot be signed at the end."
            )
        self.notice(f"Logged in to {token.describe()}.")
        source, _ = session.random_source()
        del source
        self.journal(
            events.random_source(f"PKCS#11 C_GenerateRandom on {token.model}", token.serial)
        )
        yield from self.confirm(
            "hsm/preflight",
            self.officers(),
            f"Security officer: read aloud what {token.describe()} can and cannot do (checked "
            "with throw-away keys before login); type yes.",
            preflight_summary(preflight),
        )

    def _signing_certificate(self, session: HsmSession) -> tuple[bytes | None, str | None]:
        """The certificate ``sign_record`` will sign with, and its subject CN (if readable)."""
        from ceremony.hsm.signing import SIGNING_LABEL  # deferred: loads python-pkcs11

        der = session.certificate(SIGNING_LABEL)
        if der is None:
            return None, None
        try:
            names = x509.load_der_x509_certificate(der).subject
            cns = names.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        except ValueError:
            return der, None  # the digest still names it; verify reads the certificate itself
        value = cns[0].value if cns else None
        return der, value if isinstance(value, str) else None

    def _collect_pin(
        self, role: PinRole, token_label: str, refused: AnswerRefused | None, state: PinState
    ) -> Flow[tuple[Secret, list[str]]]:
        name = "user" if role is PinRole.USER else "so"
        tries = pin_tries(state)

        def accept(value: str, by: str) -> tuple[Secret, str]:
            if not value:
                raise AnswerRefused(
                    "no PIN was typed", hint="an empty PIN is never sent to the token"
                )
            return Secret(value.encode("utf-8"), f"{role.value} PIN"), by

        if self.cf.hsm.login is HsmLogin.PIN:
            request = self.request(
                f"hsm/{name}-pin",
                self.officers(),
                RequestKind.SECRET,
                f"Security officer: type the {role.value} PIN of token {token_label!r} (the "
                "others look away).",
                pin_tries=tries,
            )
            pin, by = yield from self.ask(request, accept, refused)
            return pin, [by]
        halves: list[Secret] = []
        officers: list[str] = []
        try:
            for half in (1, 2):
                request = self.request(
                    f"hsm/{name}-pin/half-{half}",
                    self.officers(exclude=officers),
                    RequestKind.SECRET,
                    f"Security officer: type half {half} of 2 of the {role.value} PIN of token "
                    f"{token_label!r} (the other officer looks away).",
                    pin_tries=tries,
                )
                part, by = yield from self.ask(request, accept, refused if half == 1 else None)
                halves.append(part)
                officers.append(by)
            joined = Secret(bytes(sum(len(h) for h in halves)), f"{role.value} PIN")
            buffer = joined.reveal()
            offset = 0
            for part in halves:
                buffer[offset : offset + len(part)] = part.reveal()
                offset += len(part)
            return joined, officers
        finally:
            for part in halves:
                part.close()

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

    # ---- outputs --------------------------------------------------------------------------

    def write_files(self, files: Sequence[BundleFile]) -> list[tuple[str, FileDigest]]:
        """Write bundle files under this run's bundle folder; never over anything."""
        write_bundle(self.output / self.bundle_name, files, create_root=not self.bundle_created)
        self.bundle_created = True
        written = []
        for f in files:
            name = f"{self.bundle_name}/{f.name}"
            self.outputs.append(name)
            written.append((name, FileDigest.of(f.data)))
        return written

    def write_rehearsal_form(
        self, key: KeyEntry, component: Component, custodian: str, envelope: str | None
    ) -> None:
        """In rehearsal the custodian form goes into the bundle, REHEARSAL on every page.

        A production form never touches the disk: it is printed from memory (docs/evidence.md).
        """
        from ceremony.record import forms  # deferred: reportlab loads only here

        pdf = forms.component_form_pdf(
            component,
            self.roster.get(custodian).name,
            envelope,
            rehearsal=True,
            custodian_id=custodian,
        )
        name = f"forms/{key.label}/component-{component.index}-{custodian}.pdf"
        ((written, digest),) = self.write_files([BundleFile(name, pdf)])
        self.journal(events.output_written(name=written, sha256=digest, kind="component-form"))

    def finish(self) -> None:
        self.stage("finish")
        if self.rehearsal and self.bundle_created:
            marker = BundleFile("REHEARSAL.txt", REHEARSAL_NOTE)
            ((name, digest),) = self.write_files([marker])
            self.journal(events.output_written(name=name, sha256=digest, kind="rehearsal-marker"))
        if self.registry is not None and self.new_records:
            new = self.registry.registry.appended(self.new_records)
            tag = f"{self.ceremony_id}-run{self.run}"
            written = write_registry(self.registry, new, tag)
            self.journal(
                events.registry_updated(
                    name=self.cf.ceremony.registry or self.registry.path.name,
                    sha256=written.sha256,
                    records=written.records,
                    previous_sha256=written.previous_sha256,
                )
            )
            self.notice(
                f"Custodian registry {self.registry.path} updated ({written.records} records)."
            )
        parts = [f"{self.cf.ceremony.type.value} of {len(self.cf.keys)} key(s)"]
        parts += [f"{n} {what}" for what, n in self.counts.items()]
        parts.append(f"{len(self.outputs)} output file(s)")
        self.journal(events.finished(outputs=len(self.outputs), summary=", ".join(parts)))
        self.sign_record()

    def sign_record(self) -> None:
        """record.pdf and journal.sig beside the journal, signed with the session still open.

        The journal is closed by then, so a failure here cannot change the ceremony's outcome: it
        is shown, and `ceremony record FOLDER` signs the same journal later.
        """
        from ceremony.record import sign  # deferred: reportlab and pyHanko load only here

        if self.session is None:
            return
        try:
            record = sign.build_signed_record(
                self.store.path.read_bytes(), sign.HsmSigner(self.session)
            )
            written = sign.write_signed_record(self.store.path.parent, record)
        except (CeremonyError, OSError) as ex:
            self.notice(
                f"The record could not be signed: {getattr(ex, 'message', ex)}. Run "
                f"'ceremony record {self.store.path.parent}' to sign the finished journal."
            )
            return
        self.signed_record = next(p for p in written if p.suffix == ".pdf")
        self.notice(f"Signed record {self.signed_record} and its journal.sig written.")

    # ---- keys and attributes --------------------------------------------------------------

    def holders(self, key: KeyEntry) -> frozenset[str]:
        people = set(key.split.holders())
        if key.new_split is not None:
            people |= key.new_split.holders()
        return frozenset(people)

    def require_split_knowledge(self, key: KeyEntry, split: SplitSpec, split_set: str) -> None:
        """The split-knowledge rules again, at the step (file and registry as read at start)."""
        from ceremony.core.registry import Registry, check_assignments

        old = key.split if split is key.new_split else None
        also = {p: {old.made_in or self.ceremony_id} for p in old.holders()} if old else {}
        check_assignments(
            self.registry.registry if self.registry is not None else Registry(),
            key.label,
            split_set,
            split.scheme or Scheme.XOR,
            split.k,
            split.assignments,
            self.roster,
            count=split.count,
            custodian_roles=(Role.KEY_CUSTODIAN, Role.BACKUP_CUSTODIAN)
            if split.made_in
            else (Role.KEY_CUSTODIAN,),
            also_held=also,
        )

    def record_set(
        self,
        key: KeyEntry,
        split: SplitSpec,
        split_set: str,
        event: RecordEvent,
        components: Sequence[ComponentSpec] | None = None,
    ) -> None:
        listed = split.components if components is None else components
        self.new_records += issue_records(
            ceremony_id=self.ceremony_id,
            key=key.label,
            split_set=split_set,
            scheme=split.scheme or Scheme.XOR,
            threshold=split.k,
            assignments=[c.assignment for c in listed],
            roster=self.roster,
            event=event,
            now=self.now(),
            count=split.count,
            envelopes={c.index: c.envelope for c in listed if c.envelope}
            if event is RecordEvent.ISSUED
            else None,
        )

    # ---- components: show -----------------------------------------------------------------

    def show_component(
        self, key: KeyEntry, split: SplitSpec, split_set: str, component: Component
    ) -> Flow[None]:
        spec = next(c for c in split.components if c.index == component.index)
        self.stage(f"component/{key.label}/{component.index}")
        custodian = self.roster.get(spec.custodian)
        self.require_split_knowledge(key, split, split_set)
        require_may_see_component(spec.custodian, key.label, spec.assignment, self.roster)
        printing = self.printing
        yield from self.approve(
            Operation.PRINT_COMPONENT if printing else Operation.SHOW_COMPONENT,
            key.label,
            index=component.index,
            involved=frozenset(spec.holders),
            custodian=spec.custodian,
        )
        backup = f" and their backup {self.roster.who([spec.backup])}" if spec.backup else ""
        place = "the printer" if printing else "the screen"
        instruction = (
            f"Everyone except {custodian.describe()}{backup} turns away from {place} and "
            f"steps back. Nobody photographs or copies {'the form' if printing else place}."
        )
        yield from self.confirm(
            f"component/{key.label}/{component.index}/privacy",
            self.person(spec.custodian),
            f"{instruction} {custodian.name}: type yes when nobody else can see {place}.",
        )
        check = encoding.component_kcv(component)
        if printing:  # the printed form replaces the on-screen display (docs/evidence.md)
            yield from self.print_component(key, split_set, component, spec, check)
            return
        scheme = (
            f"XOR {component.count} OF {component.count}"
            if component.scheme is Scheme.XOR
            else f"SHAMIR {component.threshold} OF {component.count}"
        )
        sheet = ComponentSheet(
            key=key.label,
            split_set=split_set,
            index=component.index,
            count=component.count,
            scheme=scheme,
            custodian=spec.custodian,
            backup=spec.backup,
            kcv=check,
            instruction=instruction,
            lines=tuple(encoding.format_lines(component)),
            envelope=spec.envelope,
            rehearsal=self.rehearsal,
        )
        delivery = self.services.delivery
        if delivery is None:
            raise CeremonyError(
                "this front end cannot show a component", hint="use the runner or the TUI"
            )

        def typed_back(value: str, by: str) -> bool:
            """True: the KCV typed back matches; False: the custodian asks to see it again."""
            if value.strip().lower() == AGAIN:
                self.require_show_again_possible(key, spec)
                return False
            require_typed_back(value, check, "on the form you copied it onto")
            return True

        delivery.show(sheet)
        try:
            shown = 1
            while not (
                yield from self.ask(
                    self.request(
                        f"component/{key.label}/{component.index}/kcv"
                        + (f"/again-{shown - 1}" if shown > 1 else ""),
                        self.person(spec.custodian),
                        RequestKind.PUBLIC,
                        f"{custodian.name}: copy your component onto your form, check it, then "
                        f"type back its KCV (the hex digits after the method); or type {AGAIN} "
                        "to ask to see it again (two approvals, journaled).",
                        display=sheet,
                    ),
                    typed_back,
                )
            ):
                delivery.hide(sheet)  # off the screen while the approvers come to the keyboard
                shown += 1
                yield from self.show_again(key, spec, split_set, sheet, shown)
                delivery.show(sheet)
        finally:
            delivery.hide(sheet)
        self.journal_issued(key, split_set, component, spec, check, delivery="screen")
        if self.rehearsal:
            self.write_rehearsal_form(key, component, spec.custodian, spec.envelope)
        yield from self.seal_envelope(key, component.index, spec)

    def journal_issued(
        self,
        key: KeyEntry,
        split_set: str,
        component: Component,
        spec: ComponentSpec,
        check: CheckValue,
        *,
        delivery: str,
    ) -> None:
        """``component_issued``: the custodian has the component and typed its KCV back."""
        self.journal(
            events.component_issued(
                key=key.label,
                split_set=split_set,
                scheme=component.scheme,
                index=component.index,
                count=component.count,
                threshold=component.threshold,
                custodian=spec.custodian,
                backup=spec.backup,
                kcv=check,
                envelope=spec.envelope,
                confirmed=True,
                delivery=delivery,
            ),
            [spec.custodian, *([spec.backup] if spec.backup else [])],
        )
        self.count("component(s) issued")

    def seal_envelope(self, key: KeyEntry, index: int, spec: ComponentSpec) -> Flow[None]:
        """The custodian seals the form in the envelope the file lists and types its serial."""
        if not spec.envelope:
            return
        envelope = spec.envelope
        custodian = self.roster.get(spec.custodian)
        actors = [spec.custodian, *([spec.backup] if spec.backup else [])]

        def serial(value: str, by: str) -> str:
            if value.strip() != envelope:
                raise AnswerRefused(
                    "that is not the envelope serial the ceremony file lists",
                    hint=f"use envelope {envelope}, or stop and correct the file",
                )
            return by

        yield from self.ask(
            self.request(
                f"component/{key.label}/{index}/envelope",
                self.person(spec.custodian),
                RequestKind.PUBLIC,
                f"{custodian.name}: seal your form in envelope {envelope} in front of the "
                "witnesses and type the serial printed on it.",
                envelope=envelope,
            ),
            serial,
        )
        self.journal(
            events.envelope_sealed(
                key=key.label, index=index, custodian=spec.custodian, envelope=envelope
            ),
            actors,
        )

    # ---- components: print (production with a [printer]) ---------------------------------

    @property
    def printing(self) -> bool:
        """Component forms go to the printer: production with a ``[printer]`` section."""
        return self.cf.prints_forms(self.rehearsal)

    def form_printer(self) -> FormPrinter:
        if self.services.printer is None:
            raise PrintError(
                "this front end cannot print component forms",
                hint="run the ceremony with 'ceremony run' or the TUI",
            )
        return self.services.printer

    def check_printer(self) -> Flow[None]:
        """Before any component: the queue prints locally, or two security officers override.

        Every reading of the device URI is journaled (``printer_checked``). A printer that writes
        to a file stops the ceremony; a network printer needs the override (PCI PIN 6-3),
        journaled as ``printer_override`` before anything is printed.
        """
        if not self.printing:
            return
        assert self.cf.printer is not None
        queue = self.cf.printer.queue
        self.stage("printer")
        printer = self.form_printer()
        officers = [p.id for p in self.roster.with_role(Role.SECURITY_OFFICER)]
        # An override needs two security officers; without them it is not offered.
        choices = ("recheck", "override", "stop") if len(officers) >= 2 else ("recheck", "stop")

        def accept(value: str, by: str) -> tuple[str, str]:
            choice = value.strip().lower()
            if choice not in choices:
                raise AnswerRefused(
                    f"{value[:20]!r} is not one of " + ", ".join(choices),
                    hint="recheck once the printer is attached by USB, "
                    + (
                        "override (two security officers approve), "
                        if "override" in choices
                        else ""
                    )
                    + "or stop",
                )
            return choice, by

        while True:
            uri = printer.device_uri(queue)
            kind = classify(uri)
            self.journal(events.printer_checked(printer=queue, device_uri=uri, kind=kind.value))
            scheme = uri.partition(":")[0]
            if kind is PrinterKind.LOCAL:
                self.notice(f"Printer {queue}: attached locally ({scheme}).")
                return
            if kind is PrinterKind.DISK:
                raise PrintError(
                    f"printer {queue!r} writes jobs to a file ({scheme}:); a component form never "
                    "goes to a disk: the ceremony stops",
                    hint="point the queue at the locally attached printer and start again",
                )
            lines = (
                f"Printer {queue}: {events.printer_device(uri).value}",
                "This is a network printer: a component would leave the workstation.",
            )
            choice, by = yield from self.ask(
                self.request(
                    "printer/choice",
                    self.officers(),
                    RequestKind.CHOICE,
                    f"The printer {queue!r} is a network printer. Attach the ceremony printer "
                    "by USB and recheck; or two security officers override; or stop.",
                    lines=lines,
                    choices=choices,
                ),
                accept,
            )
            if choice == "stop":
                raise Stopped(f"stopped: printer {queue} is a network printer", by)
            if choice == "recheck":
                continue
            approvers = yield from self.approve(
                Operation.PRINTER_OVERRIDE, self.ceremony_id, lines=lines, journal=False
            )
            override = PrinterOverride(queue, uri, tuple(approvers))
            if printer.device_uri(queue) != uri:
                raise PrintError(
                    f"the device of printer {queue!r} changed while the officers approved",
                    hint="nothing was printed; check the printer and start again",
                )
            self.journal(
                events.printer_override(printer=queue, device_uri=uri, approvers=approvers),
                approvers,
            )
            self.printer_override = override
            self.notice(
                f"Network printer {queue} allowed by {self.roster.who(approvers)} (journaled)."
            )
            return

    def print_component(
        self,
        key: KeyEntry,
        split_set: str,
        component: Component,
        spec: ComponentSpec,
        check: CheckValue,
    ) -> Flow[None]:
        """The form goes from memory to the printer; the custodian types back its KCV."""
        from ceremony.record import forms  # deferred: reportlab loads only here

        assert self.cf.printer is not None
        queue = self.cf.printer.queue
        custodian = self.roster.get(spec.custodian)
        actors = [spec.custodian, *([spec.backup] if spec.backup else [])]
        pdf = forms.component_form_pdf(
            component, custodian.name, spec.envelope, rehearsal=False, custodian_id=spec.custodian
        )
        try:
            job = self.form_printer().print_pdf(
                pdf, queue, override=self.printer_override, title="ceremony component form"
            )
        finally:
            del pdf  # immutable bytes cannot be wiped: drop the only reference at once
        self.journal(
            events.component_printed(
                key=key.label,
                index=component.index,
                custodian=spec.custodian,
                printer=queue,
                job=job,
            ),
            actors,
        )

        def typed_back(value: str, by: str) -> bool:
            require_typed_back(value, check, "on your printed form (a misprinted form: stop)")
            return True

        yield from self.ask(
            self.request(
                f"component/{key.label}/{component.index}/kcv",
                self.person(spec.custodian),
                RequestKind.PUBLIC,
                f"{custodian.name}: take your form from printer {queue}, check it, then type "
                "back the KCV printed on it (the hex digits after the method).",
            ),
            typed_back,
        )
        self.journal_issued(key, split_set, component, spec, check, delivery="printed")
        self.count("component form(s) printed")
        yield from self.seal_envelope(key, component.index, spec)

    def require_show_again_possible(self, key: KeyEntry, spec: ComponentSpec) -> None:
        """Refuse the request to see a component again when nobody here could approve it."""
        planned = PlannedOperation(
            Operation.SHOW_COMPONENT_AGAIN,
            key.label,
            spec.index,
            involved=frozenset(spec.holders),
        )
        try:
            require_dual_control_possible(planned, self.roster)
        except RuleBreach as ex:
            raise AnswerRefused(
                ex.message, hint="copy the component from the screen next time, or stop"
            ) from None

    def show_again(
        self, key: KeyEntry, spec: ComponentSpec, split_set: str, sheet: ComponentSheet, shown: int
    ) -> Flow[None]:
        """Two approvals and the privacy confirmation again, journaled just before it is shown."""
        custodian = self.roster.get(spec.custodian)
        approvers = yield from self.approve(
            Operation.SHOW_COMPONENT_AGAIN,
            key.label,
            index=spec.index,
            involved=frozenset(spec.holders),
            custodian=spec.custodian,
        )
        yield from self.confirm(
            f"component/{key.label}/{spec.index}/privacy-again-{shown - 1}",
            self.person(spec.custodian),
            f"{sheet.instruction} {custodian.name}: type yes when nobody else can see the screen.",
        )
        self.journal(
            events.component_shown_again(
                key=key.label,
                split_set=split_set,
                index=spec.index,
                custodian=spec.custodian,
                approvers=approvers,
                shown=shown,
                backup=spec.backup,
            ),
            [*approvers, spec.custodian],
        )

    # ---- components: enter ----------------------------------------------------------------

    def envelope_on_record(
        self, key: KeyEntry, split: SplitSpec, spec: ComponentSpec
    ) -> tuple[str | None, str]:
        """The serial component ``spec`` must be in, and where it is recorded (PCI PIN 8-1, 9-2).

        The ceremony file's serial must be the one the registry recorded when the component
        was sealed; a component sealed in an envelope the file does not list stops too, since
        its envelope would be opened unchecked.
        """
        assert split.made_in is not None
        registry = self.registry.registry if self.registry is not None else None
        sealed = (
            registry.sealed_envelope(key.label, split.made_in, spec.index)
            if registry is not None
            else None
        )
        what = f"component {spec.index} of key {key.label!r} ({self.roster.who([spec.custodian])})"
        if sealed is not None and spec.envelope is None:
            raise RuleViolation(
                f"the custodian registry records {what} sealed in envelope {sealed}, but the "
                "ceremony file lists no envelope for it: do not open the envelope",
                hint=f'add envelope = "{sealed}" to that component in the ceremony file, have '
                "the file reviewed again and start a new ceremony",
            )
        if sealed is not None and spec.envelope != sealed:
            raise RuleViolation(
                f"the ceremony file lists envelope {spec.envelope} for {what}, the custodian "
                f"registry records it sealed in envelope {sealed}: do not open the envelope",
                hint="the envelope may have been swapped: treat the component as compromised "
                "until the security officers have compared the envelope log, the registry and "
                "the file",
            )
        return spec.envelope, "registry" if sealed is not None else "ceremony-file"

    def check_envelopes(self, key: KeyEntry, split: SplitSpec) -> None:
        """Every envelope of ``split`` against the registry, before the first one is opened."""
        for spec in split.components:
            self.envelope_on_record(key, split, spec)

    def enter_component(
        self, key: KeyEntry, split: SplitSpec, spec: ComponentSpec
    ) -> Flow[Component]:
        assert key.algorithm is not None and key.length is not None and split.made_in is not None
        self.stage(f"entry/{key.label}/{spec.index}")
        custodian = self.roster.get(spec.custodian)
        self.require_split_knowledge(key, split, split.made_in)
        envelope, recorded_in = self.envelope_on_record(key, split, spec)
        if envelope is not None:
            yield from self._check_envelope(key, spec, envelope, recorded_in)
        yield from self.approve(
            Operation.ENTER_COMPONENT,
            key.label,
            index=spec.index,
            involved=frozenset(spec.holders),
            custodian=spec.custodian,
        )
        yield from self.confirm(
            f"entry/{key.label}/{spec.index}/privacy",
            self.person(spec.custodian),
            f"Everyone except {custodian.describe()} turns away from the keyboard and screen. "
            f"{custodian.name}: type yes when nobody else can see.",
        )
        scheme = split.scheme or Scheme.XOR
        length = key.length if scheme is Scheme.XOR else share_length(key.length)
        header = encoding.ComponentHeader(
            KeyIdentity(split.made_in, key.label, key.algorithm, key.length),
            scheme,
            spec.index,
            split.count,
            split.k,
            length,
        )
        method = encoding.kcv_method_for(key.algorithm, length)
        structural = tuple(encoding.header_lines(header))
        who = self.person(spec.custodian)
        step = f"entry/{key.label}/{spec.index}"
        refused: AnswerRefused | None = None
        while True:

            def read_kcv(value: str, by: str) -> CheckValue:
                text = value.strip()
                if text.upper().startswith("KCV:"):
                    text = text[4:]
                try:
                    check = kcv.parse_check_value(text)
                except CheckValueError as ex:
                    raise AnswerRefused.of(ex) from None
                if check.method is not method:
                    raise AnswerRefused(
                        f"this component's KCV is made with {method.label}",
                        hint="copy the KCV line of your form with its method",
                    )
                if spec.kcv is not None:
                    try:
                        kcv.require_match(spec.kcv, check, f"component {spec.index}")
                    except CheckValueError as ex:
                        raise AnswerRefused(
                            f"the KCV on this form is not the one the ceremony file records for "
                            f"component {spec.index}",
                            hint="is this the right form? " + (ex.hint or ""),
                        ) from None
                return check

            check = yield from self.ask(
                self.request(
                    f"{step}/kcv",
                    who,
                    RequestKind.PUBLIC,
                    f"{custodian.name}: type the KCV line of your form (for example "
                    f"{method.label} followed by its hex digits).",
                    lines=structural,
                    entry=EntryField(key.label, spec.index, None, header.line_count, structural),
                ),
                read_kcv,
                refused,
            )
            typed: list[str] = []
            for n in [*range(1, header.line_count + 1), 0]:
                name = "SUM" if n == 0 else f"{n:02d}"

                def read_line(value: str, by: str, n: int = n, name: str = name) -> str:
                    try:
                        if n == 0:
                            encoding.check_sum_line(header, value)
                        else:
                            encoding.check_line(header, n, value)
                    except ComponentFormatError as ex:
                        raise AnswerRefused.of(ex) from None
                    body = value.strip()
                    prefix, colon, rest = body.partition(":")
                    if colon and prefix.strip().upper() == name:
                        body = rest.strip()
                    return f"{name}: {body}"

                typed.append(
                    (
                        yield from self.ask(
                            self.request(
                                f"{step}/{'sum' if n == 0 else f'line-{n:02d}'}",
                                who,
                                RequestKind.SECRET,
                                f"{custodian.name}: type line {name} of your component.",
                                entry=EntryField(
                                    key.label, spec.index, n, header.line_count, structural
                                ),
                            ),
                            read_line,
                        )
                    )
                )
            text = "\n".join([*encoding.header_lines(header, check), *typed])
            try:
                component = encoding.from_text(text)
            except (ComponentFormatError, CheckValueError) as ex:
                refused = AnswerRefused(
                    f"component {spec.index} does not check: {ex.message}",
                    hint="type the component again from its KCV line",
                )
                continue
            finally:
                typed.clear()
            self.keep(component.value)
            break
        self.journal(
            events.component_entered(
                key=key.label,
                split_set=split.made_in,
                index=spec.index,
                custodian=spec.custodian,
                kcv=check,
            ),
            [spec.custodian],
        )
        self.count("component(s) entered")
        return component

    def _check_envelope(
        self, key: KeyEntry, spec: ComponentSpec, recorded: str, recorded_in: str
    ) -> Flow[None]:
        """The checker types the serial they read; only a matching envelope is judged and opened."""
        custodian = self.roster.get(spec.custodian)
        checkers = [p.id for p in self.roster.with_role(Role.SECURITY_OFFICER, Role.WITNESS)]
        step = f"entry/{key.label}/{spec.index}/envelope"
        misses = 0
        refused: AnswerRefused | None = None

        def read(value: str, by: str) -> tuple[str, str]:
            typed = value.strip()
            if not typed:
                raise AnswerRefused(
                    "no serial was typed", hint="read the serial printed on the envelope"
                )
            if len(typed) > 64 or not typed.isprintable() or looks_secret(typed):
                raise AnswerRefused(
                    "that is not an envelope serial", hint="type the serial as printed"
                )
            return typed, by

        def journal_check(typed: str, by: str, *, intact: bool | None) -> None:
            """``envelope_checked``; ``intact`` None: the serial differed, the seal unjudged."""
            self.journal(
                events.envelope_checked(
                    key=key.label,
                    index=spec.index,
                    custodian=spec.custodian,
                    envelope=typed,
                    checked_by=by,
                    intact=intact,
                    serial_matches=typed == recorded,
                    recorded=recorded,
                    recorded_in=recorded_in,
                ),
                [by, spec.custodian],
            )

        while True:
            typed, by = yield from self.ask(
                self.request(
                    f"{step}-serial",
                    self.anyone(checkers, "a security officer or witness"),
                    RequestKind.PUBLIC,
                    f"Component {spec.index} ({custodian.describe()}): a security officer or "
                    "witness reads the serial printed on its envelope and types it, before the "
                    "envelope is opened.",
                    envelope=recorded,
                ),
                read,
                refused,
            )
            if typed == recorded:
                break
            misses += 1
            if misses >= MAX_SERIAL_MISMATCHES:
                journal_check(typed, by, intact=None)
                raise RuleViolation(
                    f"the envelope of component {spec.index} of key {key.label!r} "
                    f"({custodian.describe()}) bears serial {typed}, not {recorded} as recorded: "
                    "do not open it",
                    hint="the envelope may have been swapped: treat the component as "
                    "compromised; re-split the key from the other components in a new ceremony",
                )
            refused = AnswerRefused(
                f"serial {typed} is not the one recorded for component {spec.index} "
                f"({misses} of {MAX_SERIAL_MISMATCHES} tries)",
                hint="read the serial again, character by character; do not open the envelope",
            )
        choices = ("intact", "damaged")

        def look(value: str, by: str) -> bool:
            choice = value.strip().lower()
            if choice not in choices:
                raise AnswerRefused("answer intact or damaged", hint="look at the seal")
            return choice == "intact"

        intact = yield from self.ask(
            self.request(
                step,
                self.person(by),
                RequestKind.CHOICE,
                f"Envelope {recorded} of component {spec.index} ({custodian.describe()}): its "
                "serial matches the record. Check the seal before it is opened. Is it intact?",
                choices=choices,
                envelope=recorded,
            ),
            look,
        )
        journal_check(typed, by, intact=intact)
        if not intact:
            raise RuleViolation(
                f"envelope {recorded} of component {spec.index} of key {key.label!r} is "
                "damaged: the component must be treated as compromised",
                hint="stop; re-split the key from the other components in a new ceremony",
            )

    # ---- wraps ----------------------------------------------------------------------------

    def wrap_target(
        self,
        key: KeyEntry,
        loaded: LoadedTarget,
        material: Secret | None,
        key_kcv: CheckValue | None,
    ) -> Flow[None]:
        spec, target = loaded.spec, loaded.target
        self.stage(f"wrap/{key.label}/{spec.label}")
        kind = key.material_kind
        assert kind is not None
        kcv_text = str(key_kcv) if key_kcv is not None else None
        public_sha256: str | None = None
        if key.type in (KeyType.EC, KeyType.RSA):
            public_sha256 = hashlib.sha256(self.hsm.public_key(key.label)).hexdigest()
        if spec.wrap is WrapPlace.HSM:
            result = self.hsm.wrap_for_public_key(
                key.label,
                target.import_key.spki_der,
                method=WrapConstruction.of(target.method),
                oaep_hash=target.method.oaep_hash,
            )
            token = self.hsm.token.describe()
            files = providers.assemble_bundle(
                target,
                result.blob,
                kind,
                key_label=key.label,
                kcv=kcv_text,
                now=self.now(),
                wrapped_by=f"inside the HSM ({token}): {' + '.join(result.mechanisms)}",
                public_key_sha256=public_sha256,
            )
            mechanisms = list(result.mechanisms)
            where = "hsm"
        else:
            if material is None:
                raise HsmError(
                    f"key {key.label!r} is not in memory for a software wrap",
                    hint="this is a bug in the ceremony flow",
                )
            yield from self.approve(
                Operation.SOFTWARE_WRAP,
                key.label,
                target=spec.label,
                involved=self.holders(key),
            )
            with self.token_random():
                files = providers.build_bundle(
                    [target], material, kind, key_label=key.label, kcv=kcv_text, now=self.now()
                )
            mechanisms = ["RSA-OAEP and AES-KWP in software (pyca/cryptography, pycryptodome)"]
            where = "software"
        written = self.write_files(files)
        self.journal(
            events.wrapped(
                key=key.label,
                target=spec.label,
                provider=spec.provider.name.lower(),
                method=target.method.value,
                where=where,
                mechanisms=mechanisms,
                files=written,
            )
        )
        self.count("wrap(s)")
        self.notice(f"Key {key.label} wrapped for {spec.label} ({where}).")


def preflight_summary(preflight: Preflight) -> list[str]:
    """The preflight in plain words: what the token cannot do first, then what it can."""
    cannot = [s.capability.value for s in preflight.statuses if not s.supported]
    can = [s.capability.value for s in preflight.statuses if s.supported]
    lines = ["Everything this ceremony needs, the token can do (checked before login)."]
    if cannot:
        lines += ["", "This token CANNOT:", *(f"  ✗ {what}" for what in cannot)]
    lines += ["", "This token can:", *(f"  ✓ {what}" for what in can)]
    return lines


def require_typed_back(value: str, check: CheckValue, where: str) -> None:
    """The custodian typed back this component's KCV (with or without its method label)."""
    text = value.strip().upper().replace(" ", "")
    text = text.removeprefix("KCV:").removeprefix(check.method.label.upper())
    if text != check.hex:
        raise AnswerRefused(
            "that is not this component's KCV",
            hint=f"read the {check.method.label} value {where} and type its "
            f"{len(check.hex)} hex digits",
        )


def attributes(a: KeyAttributes) -> dict[str, JournalValue]:
    """A token's key attributes as journal values (lowercase PKCS#11 names without CKA_)."""
    return {
        "label": Label(a.label),
        "id": PublicId(a.id_hex) if a.id_hex else None,
        "class": Text(a.object_class),
        "key_type": Text(a.key_type),
        "token": a.token,
        "private": a.private,
        "local": a.local,
        "sensitive": a.sensitive,
        "always_sensitive": a.always_sensitive,
        "extractable": a.extractable,
        "never_extractable": a.never_extractable,
        "wrap_with_trusted": a.wrap_with_trusted,
        "trusted": a.trusted,
        "modifiable": a.modifiable,
        "check_value": Text(a.check_value_hex) if a.check_value_hex else None,
    }


def token_key_spec(key: KeyEntry) -> TokenKeySpec:
    """The HSM backend's spec for a ceremony-file key."""
    try:
        if key.type is KeyType.AES:
            return TokenKeySpec[f"AES_{key.bits}"]
        if key.type is KeyType.RSA:
            return TokenKeySpec[f"RSA_{key.bits}"]
        if key.type is KeyType.EC:
            return {"P-256": TokenKeySpec.EC_P256, "P-384": TokenKeySpec.EC_P384}[key.curve or ""]
    except KeyError:
        pass
    if key.type is KeyType.HMAC and key.algorithm is not None and key.length is not None:
        return TokenKeySpec.for_secret(key.algorithm, key.length)
    raise MechanismNotSupportedError(
        f"the HSM backend does not generate a {key.describe()} key",
        hint="AES-128/192/256, HMAC of a digest length, EC P-256/P-384, RSA-2048/3072/4096",
    )


def key_kcv_method(key: KeyEntry) -> kcv.KcvMethod | None:
    if key.algorithm is None or key.length is None:
        return None
    return kcv.default_method(key.algorithm, key.length)


def pin_tries(state: PinState) -> str:
    """What the token's PIN flags say about tries left, in plain words (PKCS#11 has no count)."""
    return {
        PinState.OK: "the token does not report tries left (it flags no failed try)",
        PinState.COUNT_LOW: "the token reports fewer tries left than its maximum: a wrong PIN "
        "was typed since the last good login",
        PinState.FINAL_TRY: "ONE try left: a wrong PIN locks the token",
        PinState.LOCKED: "none: the PIN is locked",
        PinState.NOT_INITIALIZED: "the PIN is not initialised",
    }[state]
