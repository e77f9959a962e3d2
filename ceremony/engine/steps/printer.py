"""Printed component forms: the printer check before any component, and each form printed."""

from __future__ import annotations

from ceremony.core import events
from ceremony.core.ceremony_file import ComponentSpec, KeyEntry
from ceremony.core.component import Component
from ceremony.core.kcv import CheckValue
from ceremony.core.rules import Operation, Role
from ceremony.engine.context import Context, Flow, Stopped
from ceremony.engine.printing import FormPrinter
from ceremony.engine.requests import RequestKind
from ceremony.engine.step_id import Action, Family, StepId
from ceremony.engine.steps.components import journal_issued, require_typed_back
from ceremony.engine.steps.envelopes import seal_envelope
from ceremony.engine.steps.people import approve
from ceremony.errors import PrintError
from ceremony.record.printer import PrinterKind, PrinterOverride, classify

STAGE = StepId(Family.PRINTER)


def form_printer(ctx: Context) -> FormPrinter:
    if ctx.services.printer is None:
        raise PrintError(
            "this front end cannot print component forms",
            hint="run the ceremony with 'ceremony run' or the TUI",
        )
    return ctx.services.printer


def check_printer(ctx: Context) -> Flow[None]:
    """Before any component: the queue prints locally, or two security officers override.

    Every reading of the device URI is journaled (``printer_checked``). A printer that writes
    to a file stops the ceremony; a network printer needs the override (PCI PIN 6-3),
    journaled as ``printer_override`` before anything is printed.
    """
    if not ctx.printing:
        return
    assert ctx.cf.printer is not None
    queue = ctx.cf.printer.queue
    ctx.stage(STAGE)
    printer = form_printer(ctx)
    officers = [p.id for p in ctx.roster.with_role(Role.SECURITY_OFFICER)]
    # An override needs two security officers; without them it is not offered.
    choices = ("recheck", "override", "stop") if len(officers) >= 2 else ("recheck", "stop")
    hint = (
        "recheck once the printer is attached by USB, "
        + ("override (two security officers approve), " if "override" in choices else "")
        + "or stop"
    )
    while True:
        uri = printer.device_uri(queue)
        kind = classify(uri)
        ctx.journal(events.printer_checked(printer=queue, device_uri=uri, kind=kind.value))
        scheme = uri.partition(":")[0]
        if kind is PrinterKind.LOCAL:
            ctx.notice(f"Printer {queue}: attached locally ({scheme}).")
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
        choice, by = yield from ctx.choose(
            STAGE.then(Action.CHOICE),
            ctx.officers(),
            f"The printer {queue!r} is a network printer. Attach the ceremony printer "
            "by USB and recheck; or two security officers override; or stop.",
            choices,
            hint=hint,
            lines=lines,
        )
        if choice == "stop":
            raise Stopped(f"stopped: printer {queue} is a network printer", by)
        if choice == "recheck":
            continue
        approvers = yield from approve(
            ctx, Operation.PRINTER_OVERRIDE, ctx.ceremony_id, lines=lines, journal=False
        )
        override = PrinterOverride(queue, uri, tuple(approvers))
        if printer.device_uri(queue) != uri:
            raise PrintError(
                f"the device of printer {queue!r} changed while the officers approved",
                hint="nothing was printed; check the printer and start again",
            )
        ctx.journal(
            events.printer_override(printer=queue, device_uri=uri, approvers=approvers),
            approvers,
        )
        ctx.printer_override = override
        ctx.notice(f"Network printer {queue} allowed by {ctx.roster.who(approvers)} (journaled).")
        return


def print_component(
    ctx: Context,
    key: KeyEntry,
    split_set: str,
    component: Component,
    spec: ComponentSpec,
    check: CheckValue,
) -> Flow[None]:
    """The form goes from memory to the printer; the custodian types back its KCV."""
    from ceremony.record import forms  # deferred: reportlab loads only here

    assert ctx.cf.printer is not None
    queue = ctx.cf.printer.queue
    custodian = ctx.roster.get(spec.custodian)
    pdf = forms.component_form_pdf(
        component, custodian.name, spec.envelope, rehearsal=False, custodian_id=spec.custodian
    )
    try:
        job = form_printer(ctx).print_pdf(
            pdf, queue, override=ctx.printer_override, title="ceremony component form"
        )
    finally:
        del pdf  # immutable bytes cannot be wiped: drop the only reference at once
    ctx.journal(
        events.component_printed(
            key=key.label,
            index=component.index,
            custodian=spec.custodian,
            printer=queue,
            job=job,
        ),
        ctx.custodians(spec),
    )

    def typed_back(value: str, by: str) -> bool:
        require_typed_back(value, check, "on your printed form (a misprinted form: stop)")
        return True

    yield from ctx.ask_for(
        StepId.of(Family.COMPONENT, key.label, component.index).then(Action.KCV),
        ctx.person(spec.custodian),
        RequestKind.PUBLIC,
        f"{custodian.name}: take your form from printer {queue}, check it, then type "
        "back the KCV printed on it (the hex digits after the method).",
        typed_back,
    )
    journal_issued(ctx, key, split_set, component, spec, check, delivery="printed")
    ctx.count("component form(s) printed")
    yield from seal_envelope(ctx, key, component.index, spec)
