"""HSM login: the PINs (whole or split between two officers), the session, the preflight."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from cryptography import x509

from ceremony.core import events
from ceremony.core.ceremony_file import HsmLogin, TrustedWrap, WrapPlace
from ceremony.core.events import TRY_LIMITS, AttemptKind
from ceremony.core.secret import Secret
from ceremony.engine import attempts
from ceremony.engine.context import Context, Flow
from ceremony.engine.requests import AnswerRefused, RequestKind
from ceremony.engine.step_id import Action, Family, PinName, StepId
from ceremony.errors import HsmError, PinIncorrectError
from ceremony.hsm.base import (
    HsmBackend,
    HsmSession,
    PinPrompter,
    PinRequest,
    PinRole,
    PinState,
    Preflight,
    TrustRequest,
)

T = TypeVar("T")

STAGE = StepId(Family.HSM)


class PinTriesExhaustedError(HsmError):
    """The tool's own limit of wrong PINs for one role was reached: the ceremony stops."""


class _OnePin:
    """Hands the PIN just typed to one login (of one role); wiped afterwards."""

    def __init__(self, role: PinRole, pin: Secret, last_try: bool) -> None:
        self.role = role
        self._pin: Secret | None = pin
        self._last_try = last_try

    def pin(self, request: PinRequest) -> Secret:
        secret, self._pin = self._pin, None
        if secret is None or request.role is not self.role:
            raise HsmError(
                f"no {request.role.value} PIN was typed for this login",
                hint="this is a bug in the ceremony flow; start again",
            )
        return secret  # the backend wipes it right after C_Login

    def confirm_final_try(self, request: PinRequest) -> bool:
        return self._last_try and request.role is self.role

    def wipe(self) -> None:
        if self._pin is not None:
            self._pin.close()
            self._pin = None


def _pin_name(role: PinRole) -> PinName:
    return "so" if role is PinRole.SO else "user"


def hsm_login(ctx: Context) -> Flow[None]:
    ctx.stage(STAGE)
    backend, preflight = ctx.checked_token()
    session, typed = yield from open_session(ctx, STAGE, backend, trust_request(ctx))
    ctx.session = session
    ctx.exit.callback(session.close)
    token = session.token
    officers = list(dict.fromkeys(typed))
    certificate, cn = _signing_certificate(session)
    ctx.journal(
        events.hsm_opened(
            module=token.module_path,
            token_label=token.label,
            serial=token.serial,
            model=token.model,
            manufacturer=token.manufacturer,
            firmware=token.firmware_version,
            library=f"{token.library_description} {token.library_version}",
            preflight=preflight.lines(),
            login=ctx.cf.hsm.login.value,
            officers=officers,
            signing_certificate=certificate,
            signing_certificate_cn=cn,
            trusted_wrap=ctx.hsm_config.trusted_wrap.value,
        ),
        officers,
    )
    if certificate is None:
        ctx.notice(
            "The token holds no ceremony signing certificate: the "
            "journal records that, and the record cannot be signed at the end."
        )
    ctx.notice(f"Logged in to {token.describe()}.")
    source, _ = session.random_source()
    del source
    ctx.journal(events.random_source(f"PKCS#11 C_GenerateRandom on {token.model}", token.serial))
    yield from ctx.confirm(
        STAGE.then(Action.PREFLIGHT),
        ctx.officers(),
        f"Security officer: read aloud what {token.describe()} can and cannot do (checked "
        "with throw-away keys before login); type yes.",
        preflight_summary(preflight),
    )


def open_session(
    ctx: Context, stage: StepId, backend: HsmBackend, trust: TrustRequest
) -> Flow[tuple[HsmSession, list[str]]]:
    """The officers type the PINs, the SO's checked first, until the token opens a session."""
    steps = backend.begin_login(trust)
    try:
        typed: list[str] = []
        if steps.needs_security_officer:
            # The SO PIN is checked at the token before anyone is asked for the user PIN.
            _, by = yield from _log_in(ctx, stage, backend, PinRole.SO, steps.security_officer)
            typed += by
        session, by = yield from _log_in(ctx, stage, backend, PinRole.USER, steps.user)
        typed += by
    finally:
        steps.close()  # nothing to do once the user login handed the session over
    return session, typed


def trust_request(ctx: Context) -> TrustRequest:
    """What the SO lets this session do with untrusted keys: import keys, exports.

    Nothing when the file says the token does not enforce CKA_WRAP_WITH_TRUSTED: no SO login
    and no trusted objects, and the record says which policy held.
    """
    if ctx.hsm_config.trusted_wrap is TrustedWrap.NOT_ENFORCED:
        return TrustRequest()
    import_keys: list[bytes] = []
    composite = 0
    exports = 0
    kind = ctx.cf.ceremony.type.value
    for key in ctx.cf.keys:
        for loaded in ctx.targets.get(key.label, []):
            if loaded.spec.wrap is WrapPlace.HSM:
                import_keys.append(loaded.target.import_key.spki_der)
                composite += 1 if loaded.target.method.composite else 0
        software = any(t.wrap is WrapPlace.SOFTWARE for t in key.targets)
        exported = kind == "split-backup" and key.source.value in ("hsm", "hsm-key")
        if exported or (kind in ("generate-export", "re-wrap") and software):
            exports += 1
    return TrustRequest(tuple(dict.fromkeys(import_keys)), composite, exports)


def _signing_certificate(session: HsmSession) -> tuple[bytes | None, str | None]:
    """The certificate ``sign_record`` will sign with, and its subject CN (if readable)."""
    from ceremony.core.ceremony_file import SIGNING_LABEL

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


def _log_in(
    ctx: Context,
    stage: StepId,
    backend: HsmBackend,
    role: PinRole,
    login: Callable[[PinPrompter], T],
) -> Flow[tuple[T, list[str]]]:
    """Ask for ``role``'s PIN and log in with it, again after a wrong one up to the tool's limit.

    The limit is the tool's own (``TRY_LIMITS``), whatever the token counts: some tokens never
    lock a PIN. Each wrong PIN is journaled with who typed it and what the token reports.
    """
    name = _pin_name(role)
    step = stage.then(pin=name)
    # A second token (the signing token) counts its own tries.
    counter = f"{name} PIN" if stage == STAGE else f"{stage.family.value} {name} PIN"
    refused: AnswerRefused | None = None
    while True:
        info = backend.describe()  # the PIN flags afresh: they change after a wrong PIN
        state = info.so_pin if role is PinRole.SO else info.user_pin
        last_try = False
        if state is PinState.FINAL_TRY:
            yield from ctx.confirm(
                stage.then(Action.LAST_TRY, pin=name),
                ctx.officers(),
                f"The token reports ONE {role.value} PIN try left: a wrong PIN now "
                "locks it. Type yes to use the last try.",
            )
            last_try = True
        pin, by = yield from _collect_pin(ctx, stage, role, info.label, refused, state, counter)
        prompter = _OnePin(role, ctx.keep(pin), last_try)
        ctx.asking = step  # a failure of this login is filed under the PIN's step
        try:
            result = login(prompter)
        except PinIncorrectError as ex:
            reported = _reported(ex)
            left = attempts.failed(
                ctx, AttemptKind.PIN, step, by, counter, role=name, token_reports=reported
            )
            limit = TRY_LIMITS[AttemptKind.PIN]
            if left == 0:
                raise PinTriesExhaustedError(
                    f"{limit} wrong {role.value} PINs for {info.describe()}: the ceremony stops "
                    f"(the tool's limit; the token reports: {reported})",
                    hint="nobody guesses a PIN: find the PIN's holders and its sealed record, "
                    "then start the ceremony again",
                ) from None
            refused = AnswerRefused(
                f"{ex.message} ({attempts.left_text(left, limit)}; the tool stops at {limit})",
                hint=ex.hint,
            )
            continue
        finally:
            prompter.wipe()
            pin.close()
        ctx.asking = None
        return result, by


def _reported(ex: PinIncorrectError) -> str:
    """What the token says after a wrong PIN, in the words of ``PinState``."""
    state = PinState.__members__.get(ex.pin_state or "")
    return state.value if state is not None else "nothing (it keeps no visible count)"


def _collect_pin(
    ctx: Context,
    stage: StepId,
    role: PinRole,
    token_label: str,
    refused: AnswerRefused | None,
    state: PinState,
    counter: str,
) -> Flow[tuple[Secret, list[str]]]:
    name = _pin_name(role)
    reported = pin_tries(state)
    limit = TRY_LIMITS[AttemptKind.PIN]

    def accept(value: str, by: str) -> tuple[Secret, str]:
        if not value:
            # A failed attempt like a wrong PIN (an auditor asks for both), never sent.
            left = attempts.failed(
                ctx,
                AttemptKind.PIN,
                stage.then(pin=name),
                [by],
                counter,
                role=name,
                token_reports="not asked: the PIN was empty and never sent to the token",  # noqa: S106
            )
            if left == 0:
                raise PinTriesExhaustedError(
                    f"{limit} failed {role.value} PIN attempts (the last ones empty): the "
                    "ceremony stops (the tool's limit)",
                    hint="find the PIN's holders and its sealed record, then start again",
                )
            raise AnswerRefused(
                f"no PIN was typed ({attempts.left_text(left, limit)}; the tool stops at {limit})",
                hint="an empty PIN is never sent to the token; type the PIN",
            )
        return Secret(value.encode("utf-8"), f"{role.value} PIN"), by

    if ctx.cf.hsm.login is HsmLogin.PIN:
        pin, by = yield from ctx.ask_for(
            stage.then(pin=name),
            ctx.officers(),
            RequestKind.SECRET,
            f"Security officer: type the {role.value} PIN of token {token_label!r} (the "
            "others look away).",
            accept,
            refused,
            pin_tries=reported,
            tries=lambda: ctx.attempts.tries(AttemptKind.PIN, counter),
        )
        return pin, [by]
    halves: list[Secret] = []
    officers: list[str] = []
    try:
        for half in (1, 2):
            part, by = yield from ctx.ask_for(
                stage.then(pin=name, half=half),
                ctx.officers(exclude=officers),
                RequestKind.SECRET,
                f"Security officer: type half {half} of 2 of the {role.value} PIN of token "
                f"{token_label!r} (the other officer looks away).",
                accept,
                refused if half == 1 else None,
                pin_tries=reported,
                tries=lambda: ctx.attempts.tries(AttemptKind.PIN, counter),
            )
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


def preflight_summary(preflight: Preflight) -> list[str]:
    """The preflight in plain words: what the token cannot do first, then what it can."""
    cannot = [s.capability.value for s in preflight.statuses if not s.supported]
    can = [s.capability.value for s in preflight.statuses if s.supported]
    lines = ["Everything this ceremony needs, the token can do (checked before login)."]
    if cannot:
        lines += ["", "This token CANNOT:", *(f"  ✗ {what}" for what in cannot)]
    lines += ["", "This token can:", *(f"  ✓ {what}" for what in can)]
    return lines


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
