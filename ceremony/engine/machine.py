"""The ceremony state machine: one reviewed file in, an enforced sequence of requests, a journal.

    machine = Machine(load_ceremony_file(path), services=default_services(delivery=...))
    request = machine.start()
    while request is not None:
        request = machine.answer(value, by=participant_id)   # AnswerRefused: ask machine.current

The machine runs the bytes it is given (``CheckedFile``: what the witness approved by its
SHA-256) and never reads the ceremony file's path again to use it: ``start`` refuses, naming
both digests, when the file or its registry on disk no longer match them. Given a path, it
reads the file once, at ``start``.

The machine never reads a terminal, prints or sleeps. ``start``, ``answer`` and ``abort`` are
serialised by a lock, so a TUI may call them from a worker thread. Any other ``CeremonyError``
from them means the ceremony stopped: the journal records ``step_failed`` and ``aborted``, and
``outcome`` names the journal and its final hash.
"""

from __future__ import annotations

import contextlib
import enum
import platform
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ceremony import __version__
from ceremony.core import events
from ceremony.core.ceremony_file import (
    AwsFields,
    AwsPaymentFields,
    AzureFields,
    CeremonyFile,
    GcpFields,
    TargetEntry,
)
from ceremony.core.journal import Message, SecretScreen
from ceremony.core.key_roles import KeyRole
from ceremony.core.providers import AwsPaymentTarget, AwsTarget, AzureTarget, GcpTarget
from ceremony.core.providers import aws as aws_formats
from ceremony.core.providers import aws_payment as aws_payment_formats
from ceremony.core.providers import azure as azure_formats
from ceremony.core.providers import gcp as gcp_formats
from ceremony.core.providers.common import MaterialInfo, Provider, material_for_hsm
from ceremony.core.providers.import_key import MAX_KEY_FILE
from ceremony.engine import flows
from ceremony.engine.ceremony_source import CheckedFile, load_ceremony_file
from ceremony.engine.context import Context, Flow, LoadedTarget, Services, Stopped
from ceremony.engine.journal_store import Recovery, Started, journal_name, start
from ceremony.engine.printing import CupsPrinter
from ceremony.engine.requests import Answer, AnswerRefused, ComponentDelivery, Refusal, Request
from ceremony.engine.steps.key_blocks import load_key_blocks
from ceremony.engine.steps.recovery import Restart, read_restart
from ceremony.errors import CeremonyError, ConfigError, RuleViolation
from ceremony.hardening import StopSignal, signals_deferred
from ceremony.hsm.base import HsmBackend, HsmConfig
from ceremony.reading import read_file


class Status(enum.Enum):
    READY = "ready"
    RUNNING = "running"
    FINISHED = "finished"
    ABORTED = "aborted"  # stopped by the people in the room, or by an error


@dataclass(frozen=True)
class Outcome:
    status: Status
    journal: Path | None
    final_hash: str | None
    run: int
    outputs: tuple[str, ...]  # relative to the output folder
    output_folder: Path | None
    recovery: Recovery | None  # the earlier run this start marked aborted
    reason: str | None = None  # why it stopped
    signed_record: Path | None = None  # record.pdf, signed in the token when the ceremony finished
    record_error: str | None = None  # finished, but the record could not be written (why)
    ceremony_id: str | None = None  # the file's id, or ``<id>.r<n>`` for a restart
    restarts: str | None = None  # the aborted ceremony this run is the restart of


class CeremonyStopped(CeremonyError):
    """The ceremony stopped before the end; the journal records why."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def default_services(
    *,
    delivery: ComponentDelivery | None,
    clock: Callable[[], datetime] = _utc_now,
    backend: Callable[[HsmConfig], HsmBackend] | None = None,
) -> Services:
    """The real machine: PKCS#11, this machine's air gap, the system clock."""

    def pkcs11(config: HsmConfig) -> HsmBackend:
        from ceremony.hsm.pkcs11 import Pkcs11Backend

        return Pkcs11Backend(config)

    def airgap() -> object:
        from ceremony.engine.airgap import check_air_gap

        return check_air_gap()

    def resolve(module: str, label: str | None, serial: str | None) -> HsmConfig:
        from ceremony.hsm import config

        return config.resolve(module, label, serial)

    def rehearsal_token(config: HsmConfig) -> bool:
        from ceremony.hsm import softhsm

        if not softhsm.is_softhsm_module(config.module_path):
            return False
        softhsm.activate()  # what loading the module does: SOFTHSM2_CONF -> the project's store
        return softhsm.is_rehearsal_store(config.module_path)

    return Services(
        backend=backend or pkcs11,
        airgap=airgap,  # type: ignore[arg-type]
        clock=clock,
        delivery=delivery,
        resolve=resolve,
        rehearsal_token=rehearsal_token,
        workstation=platform.node() or "unknown",
        printer=CupsPrinter(),
    )


def journal_path(output: Path, ceremony_id: str) -> Path:
    return output / journal_name(ceremony_id)


class Machine:
    """One ceremony run from one ceremony file; see the module docstring for the answer flow."""

    def __init__(
        self, source: CheckedFile | Path | str, *, services: Services, rehearsal: bool = False
    ) -> None:
        self._checked: CheckedFile | None = None
        if isinstance(source, CheckedFile):
            self.path, self._checked = source.path, source
        else:
            self.path = Path(source)
        self.services = services
        self._rehearsal_flag = rehearsal
        self._lock = threading.RLock()
        self._status = Status.READY
        self._flow: Flow[None] | None = None
        self._ctx: Context | None = None
        self._current: Request | None = None
        self._recovery: Recovery | None = None
        self._reason: str | None = None
        self.ceremony: CeremonyFile | None = None

    # ---- public API -----------------------------------------------------------------------

    @property
    def status(self) -> Status:
        return self._status

    @property
    def current(self) -> Request | None:
        """The request waiting for an answer (None before start and after the end)."""
        return self._current

    @property
    def rehearsal(self) -> bool:
        return self._rehearsal_flag or (self.ceremony is not None and self.ceremony.rehearsal)

    @property
    def outcome(self) -> Outcome:
        ctx = self._ctx
        return Outcome(
            status=self._status,
            journal=ctx.store.path if ctx else None,
            final_hash=ctx.store.final_hash if ctx else None,
            run=ctx.run if ctx else 0,
            outputs=tuple(ctx.outputs) if ctx else (),
            output_folder=ctx.output if ctx else None,
            recovery=self._recovery,
            reason=self._reason,
            signed_record=ctx.signed_record if ctx else None,
            record_error=ctx.record_error if ctx else None,
            ceremony_id=ctx.ceremony_id if ctx else None,
            restarts=ctx.restart.previous.ceremony_id if ctx and ctx.restart else None,
        )

    def take_notices(self) -> list[str]:
        """What happened since the last request that the people should see (then cleared)."""
        with self._lock:
            if self._ctx is None:
                return []
            notices, self._ctx.notices = self._ctx.notices, []
            return notices

    def start(self) -> Request | None:
        """Check the file, open (or recover) the journal and return the first request."""
        with self._lock:
            if self._status is not Status.READY:
                raise CeremonyError("this ceremony was already started", hint="bug")
            self._ctx = self._prepare()
            self._status = Status.RUNNING
            self._flow = flows.ceremony(self._ctx)
            return self._advance(None)

    def answer(self, value: str, *, by: str | None = None) -> Request | None:
        """Answer the current request; ``by`` is who answers when the request names no one."""
        with self._lock:
            if self._status is not Status.RUNNING or self._current is None:
                raise CeremonyError(
                    "the ceremony is not waiting for an answer", hint="start it first"
                )
            if not isinstance(value, str):
                raise AnswerRefused("an answer is text", hint="type the answer")
            return self._advance(Answer(value, by))

    @signals_deferred()  # a SIGTERM/SIGHUP arriving mid-abort waits until it is journaled
    def abort(self, reason: str, by: str | None = None) -> None:
        """Stop the ceremony: secrets are wiped, the token session closed, ``aborted`` journaled."""
        with self._lock:
            if self._status is not Status.RUNNING:
                return
            self._close_flow()
            ctx = self._ctx
            assert ctx is not None
            text = " ".join(reason.split())[:500] or "stopped"
            actors = [by] if by is not None and by in ctx.roster else []
            try:
                ctx.store.abort(Message.screened(text, ctx.screen), actors)
            finally:
                self._end(Status.ABORTED, text)

    def close(self) -> None:
        """Abort a running ceremony (``closed by the front end``) and release everything."""
        with self._lock:
            if self._status is Status.RUNNING:
                self.abort("the front end closed before the ceremony finished")

    def __enter__(self) -> Machine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- internals ------------------------------------------------------------------------

    def _advance(self, answer: Answer | None) -> Request | None:
        assert self._flow is not None and self._ctx is not None
        ctx = self._ctx
        # A secret answer being handled is screened out of a failure's message too.
        secret = self._current is not None and self._current.secret
        typed = (answer.value,) if answer is not None and secret else ()
        try:
            out = next(self._flow) if answer is None else self._flow.send(answer)
        except StopIteration:
            self._end(Status.FINISHED, None)
            return None
        except Stopped as ex:
            reason = Message.screened(ex.reason, ctx.screen)
            ctx.store.abort(reason, [ex.by] if ex.by else [])
            self._end(Status.ABORTED, ex.reason)
            raise CeremonyStopped(
                f"the ceremony stopped: {ex.reason}", hint="the journal records why"
            ) from None
        except CeremonyError as ex:
            self._fail(ctx.step, ex.message, typed)
            raise
        except StopSignal as ex:
            self._fail(ctx.step, f"stopped by {ex.name} before this step was done", ())
            raise
        except KeyboardInterrupt:
            self._fail(ctx.step, "stopped by the operator (Ctrl-C) before this step was done", ())
            raise
        except BaseException as ex:
            self._fail(ctx.step, f"internal error ({type(ex).__name__})", typed)
            raise
        notices = tuple(self._ctx.notices)
        self._ctx.notices = []
        if isinstance(out, Refusal):
            self._current = replace(out.request, notices=notices)
            raise out.error
        self._current = replace(out, notices=notices)
        return self._current

    def _fail(self, step: str, message: str, typed: tuple[str, ...]) -> None:
        ctx = self._ctx
        assert ctx is not None
        # Screened before the flow closes: the secrets it holds are wiped when it does.
        try:
            failed = events.step_failed(step=step, error=message, screen=ctx.screen, typed=typed)
        except CeremonyError:
            failed = None
        self._close_flow()
        try:
            if failed is not None:
                ctx.journal(failed)
            ctx.store.abort(Message.screened(f"the step {step} failed", ctx.screen))
        except CeremonyError:
            pass  # the journal itself failed; the error below is what the people see
        finally:
            self._end(Status.ABORTED, message)

    def _close_flow(self) -> None:
        if self._flow is not None:
            flow, self._flow = self._flow, None
            with contextlib.suppress(Exception):  # cleanup must not hide the real error
                flow.close()

    def _end(self, status: Status, reason: str | None) -> None:
        self._status = status
        self._reason = reason
        self._current = None
        ctx = self._ctx
        if ctx is None:
            return
        try:
            ctx.exit.close()  # the token session
        finally:
            ctx.wipe()
            ctx.store.close()

    @property
    def checked(self) -> CheckedFile | None:
        """The bytes this machine runs (None before ``start`` when it was given a path)."""
        return self._checked

    def _load(self) -> CheckedFile:
        if self._checked is None:
            self._checked = load_ceremony_file(self.path)  # the one read: nothing approved it
        else:
            self._checked.refuse_if_changed()
        return self._checked

    def _prepare(self) -> Context:
        services = self.services
        checked = self._load()
        cf, base = checked.ceremony, checked.base
        self.ceremony = cf
        rehearsal = self.rehearsal
        hsm_config = token_config(cf, services, rehearsal)
        now = services.clock()
        targets, target_warnings = load_targets(cf, base, now, rehearsal=rehearsal)
        blocks = load_key_blocks(cf, base)
        output = base / cf.ceremony.output
        try:
            output.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as ex:
            raise ConfigError(
                f"cannot create the output folder {output}: {ex.strerror or ex}",
                hint="check the medium and ceremony.output",
            ) from None
        genesis = events.genesis(
            ceremony_type=cf.ceremony.type.value,
            site=cf.ceremony.site,
            purpose=cf.ceremony.purpose,
            rehearsal=rehearsal,
            tool_version=__version__,
            workstation=services.workstation,
            system_time=now,
        )
        started = start(
            output,
            ceremony_id=cf.ceremony.id,
            ceremony_file=checked.sha256,
            clock=services.clock,
            data=genesis.data,
        )
        try:
            ctx = self._context(started, checked, services, targets, target_warnings, hsm_config)
            ctx.key_blocks = blocks
            return ctx
        except BaseException as ex:
            # The journal exists: whatever stops the start now (a stop signal, Ctrl-C, an
            # unreadable aborted journal) is journaled, not left as an open genesis.
            reason = (
                f"{ex} (a stop signal, handled like Ctrl-C)"
                if isinstance(ex, StopSignal)
                else "stopped by the operator at the keyboard (Ctrl-C)"
                if isinstance(ex, KeyboardInterrupt)
                else f"the start failed: {ex.message}"
                if isinstance(ex, CeremonyError)
                else f"the start failed: internal error ({type(ex).__name__})"
            )
            with contextlib.suppress(CeremonyError, OSError):
                started.store.abort(Message.screened(reason, SecretScreen()))
            self._reason = reason
            raise

    def _context(
        self,
        started: Started,
        checked: CheckedFile,
        services: Services,
        targets: dict[str, list[LoadedTarget]],
        target_warnings: list[str],
        hsm_config: HsmConfig,
    ) -> Context:
        cf, base, registry = checked.ceremony, checked.base, checked.registry
        rehearsal = self.rehearsal
        output = base / cf.ceremony.output
        self._recovery = started.recovery
        restart = _restart(started, cf)
        ctx = Context(
            ceremony=cf,
            base=base,
            rehearsal=rehearsal,
            services=services,
            store=started.store,
            run=started.attempt,
            output=output,
            registry=registry,
            targets=targets,
            hsm_config=hsm_config,
            stages=flows.plan(cf, rehearsal, restart),
            ceremony_id=started.ceremony_id,
            restart=restart,
        )
        for warning in target_warnings:
            ctx.notice(f"Import key: {warning}.")
        return ctx


def token_config(cf: CeremonyFile, services: Services, rehearsal: bool) -> HsmConfig:
    """The token the file names; a rehearsal may be pointed elsewhere by the environment,
    but only at the rehearsal store, and production only ever at the file's token."""
    spec = cf.hsm
    stated = HsmConfig(
        spec.module, spec.token_label, spec.token_serial, spec.init_reserved, spec.trusted_wrap
    )
    hsm_config = replace(
        services.resolve(spec.module, spec.token_label, spec.token_serial),
        init_reserved=spec.init_reserved,
        trusted_wrap=spec.trusted_wrap,
    )
    if not rehearsal and hsm_config != stated:
        raise RuleViolation(
            f"the environment names {hsm_config.describe()}, the ceremony file {stated.describe()}",
            hint="unset CEREMONY_PKCS11_MODULE, CEREMONY_TOKEN_LABEL and "
            "CEREMONY_TOKEN_SERIAL: a production ceremony uses the token its file names",
        )
    if rehearsal and not services.rehearsal_token(hsm_config):
        raise RuleViolation(
            f"a rehearsal runs only on the project's rehearsal SoftHSM2 token, not on "
            f"{hsm_config.describe()}",
            hint="a rehearsal never touches a production token; check the [hsm] section",
        )
    return hsm_config


def _restart(started: Started, cf: CeremonyFile) -> Restart | None:
    """What the aborted attempts before this one left (None: this is the first attempt)."""
    if not started.aborted:
        return None
    return read_restart(started.ceremony_id, started.aborted, cf)


def load_targets(
    cf: CeremonyFile, base: Path, now: datetime, *, rehearsal: bool
) -> tuple[dict[str, list[LoadedTarget]], list[str]]:
    """Every target's import key, read and checked with the provider's rules before any work,
    and the warnings to show. ``ceremony check`` calls it too: what is known without a token
    (a missing import-key file, an expired or software import job) fails there already.
    """
    loaded: dict[str, list[LoadedTarget]] = {}
    warnings: list[str] = []
    for i, key in enumerate(cf.keys):
        kind = key.material_kind
        for j, spec in enumerate(key.targets):
            path = f"keys[{i}].targets[{j}]"
            target = _load_target(spec, key.role, base, path, production=not rehearsal)
            if kind is not None:
                info: MaterialInfo = material_for_hsm(kind, None, None)
                try:
                    warnings += target.check(info, now)
                except CeremonyError as ex:
                    raise ConfigError(f"{path}: {ex.message}", hint=ex.hint) from None
            loaded.setdefault(key.label, []).append(LoadedTarget(spec, target))
    return loaded, warnings


def _read(base: Path, name: str, path: str) -> bytes:
    hint = "put the provider's download next to the ceremony file, as the file names it"
    try:
        return read_file(base / name, "import key file", cap=MAX_KEY_FILE, hint=hint)
    except ConfigError as ex:
        raise ConfigError(f"{path}: {ex.message}", hint=ex.hint) from None


def _load_target(
    spec: TargetEntry, role: KeyRole, base: Path, path: str, *, production: bool
) -> AwsTarget | AzureTarget | GcpTarget | AwsPaymentTarget:
    data = _read(base, spec.import_key, f"{path}.import_key")
    f = spec.fields
    try:
        if isinstance(f, AwsPaymentFields):
            return AwsPaymentTarget(
                spec.label,
                spec.algorithm,
                aws_payment_formats.parse_import_parameters(data),
                role=role,
                exportable=f.exportable,
                root_ca_fingerprint=f.root_ca_fingerprint,
                region=f.region or "",
                production=production,
            )
        if spec.provider is Provider.AWS:
            assert isinstance(f, AwsFields)
            token = _read(base, f.import_token, f"{path}.import_token") if f.import_token else None
            key = aws_formats.parse_import_parameters(
                data,
                import_token=token,
                token_base64=aws_formats.token_is_base64(f.import_token or ""),
                key_id=f.key_id or "",
            )
            return AwsTarget(
                spec.label,
                spec.algorithm,
                key,
                key_id=f.key_id or "",
                material_valid_to=f.material_valid_to,
                region=f.region or "",
            )
        if spec.provider is Provider.AZURE:
            assert isinstance(f, AzureFields)
            key = azure_formats.parse_kek(data, f.kek_id)
            return AzureTarget(spec.label, key, f.key_name, f.ops, spec.algorithm)
        assert isinstance(f, GcpFields)
        key = gcp_formats.parse_import_job(data, import_job=f.import_job or "")
        return GcpTarget(
            spec.label,
            spec.algorithm,
            key,
            f.key,
            f.key_algorithm or "",
            protection_level=f.protection_level,
            undated_job=f.undated_job,
            production=production,
        )
    except CeremonyError as ex:
        raise ConfigError(f"{path}.import_key: {ex.message}", hint=ex.hint) from None
