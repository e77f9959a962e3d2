"""The evidence a run leaves: bundle files, rehearsal forms, the registry, the signed record."""

from __future__ import annotations

from collections.abc import Sequence

from ceremony.core import events
from ceremony.core.ceremony_file import KeyEntry
from ceremony.core.component import Component
from ceremony.core.journal import FileDigest
from ceremony.core.providers import BundleFile
from ceremony.engine.context import Context
from ceremony.engine.registry_store import write_registry
from ceremony.engine.step_id import Family, StepId
from ceremony.errors import CeremonyError
from ceremony.hardening import signals_deferred
from ceremony.output import rehearsal_marker, write_bundle

STAGE = StepId(Family.FINISH)


def write_files(ctx: Context, files: Sequence[BundleFile]) -> list[tuple[str, FileDigest]]:
    """Write bundle files under this run's bundle folder; never over anything."""
    write_bundle(ctx.output / ctx.bundle_name, files, create_root=not ctx.bundle_created)
    ctx.bundle_created = True
    written = []
    for f in files:
        name = f"{ctx.bundle_name}/{f.name}"
        ctx.outputs.append(name)
        written.append((name, FileDigest.of(f.data)))
    return written


def write_rehearsal_form(
    ctx: Context, key: KeyEntry, component: Component, custodian: str, envelope: str | None
) -> None:
    """In rehearsal the custodian form goes into the bundle, REHEARSAL on every page.

    A production form never touches the disk: it is printed from memory (docs/evidence.md).
    """
    from ceremony.record import forms  # deferred: reportlab loads only here

    pdf = forms.component_form_pdf(
        component,
        ctx.roster.get(custodian).name,
        envelope,
        rehearsal=True,
        custodian_id=custodian,
    )
    name = f"forms/{key.label}/component-{component.index}-{custodian}.pdf"
    ((written, digest),) = write_files(ctx, [BundleFile(name, pdf)])
    ctx.journal(events.output_written(name=written, sha256=digest, kind="component-form"))


def finish(ctx: Context) -> None:
    """The rehearsal marker, the registry, ``finished``, then the signed record."""
    ctx.stage(STAGE)
    if ctx.rehearsal and ctx.bundle_created:
        ((name, digest),) = write_files(ctx, [rehearsal_marker()])
        ctx.journal(events.output_written(name=name, sha256=digest, kind="rehearsal-marker"))
    if ctx.registry is not None and ctx.new_records:
        new = ctx.registry.registry.appended(ctx.new_records)
        tag = f"{ctx.ceremony_id}-run{ctx.run}"
        written = write_registry(ctx.registry, new, tag)
        ctx.journal(
            events.registry_updated(
                name=ctx.cf.ceremony.registry or ctx.registry.path.name,
                sha256=written.sha256,
                records=written.records,
                previous_sha256=written.previous_sha256,
            )
        )
        ctx.notice(f"Custodian registry {ctx.registry.path} updated ({written.records} records).")
    parts = [f"{ctx.cf.ceremony.type.value} of {len(ctx.cf.keys)} key(s)"]
    parts += [f"{n} {what}" for what, n in ctx.counts.items()]
    parts.append(f"{len(ctx.outputs)} output file(s)")
    # From `finished` to the signed record a Ctrl-C or stop signal waits (the CLI runs the engine
    # in the main thread): a journal that says finished never lacks its record for that. Once
    # both are written there is nothing left to stop, so it is said and not raised.
    try:
        with signals_deferred():
            ctx.journal(events.finished(outputs=len(ctx.outputs), summary=", ".join(parts)))
            sign_record(ctx)
    except KeyboardInterrupt as ex:
        ctx.notice(
            f"{ex or 'Ctrl-C'} came while the record was being written: the ceremony had "
            "finished, so the record was completed first and nothing was stopped."
        )


def sign_record(ctx: Context) -> None:
    """record.pdf and journal.sig beside the journal, signed with the session still open.

    The journal is closed by then, so a failure here cannot change the ceremony's outcome: it
    is shown, and `ceremony record FOLDER` signs the same journal later.
    """
    from ceremony.record import sign  # deferred: reportlab and pyHanko load only here

    if ctx.signer is None:
        return
    session, label = ctx.signer
    try:
        signer = sign.HsmSigner(session, label)
        record = sign.build_signed_record(ctx.store.path.read_bytes(), signer)
        written = sign.write_signed_record(ctx.store.path.parent, record)
    except (CeremonyError, OSError) as ex:
        # The ceremony stays finished (its journal is closed), but the run must not look whole:
        # the outcome carries why, and the front ends exit non-zero.
        why = ex.message if isinstance(ex, CeremonyError) else (ex.strerror or str(ex))
        ctx.record_error = why
        ctx.notice(
            f"The record could not be signed: {why}. Run "
            f"'ceremony record {ctx.store.path.parent}' to sign the finished journal."
        )
        return
    ctx.signed_record = next(p for p in written if p.suffix == ".pdf")
    ctx.notice(f"Signed record {ctx.signed_record} and its journal.sig written.")
