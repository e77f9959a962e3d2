"""Process hardening journaled at start; a required memory lock refused before any secret."""

from __future__ import annotations

from ceremony import hardening
from ceremony.core import events
from ceremony.engine.context import Context
from ceremony.errors import RuleViolation


def journal_hardening(ctx: Context) -> None:
    """``process_hardened`` from this process's report; stop if the file requires what failed."""
    required = ctx.cf.ceremony.require_memory_lock and not ctx.rehearsal
    report = hardening.last_report()
    if report is None:  # a front end that does not harden (an embedding, a test)
        if required:
            raise RuleViolation(
                "the ceremony file requires locked memory, and this process was not hardened",
                hint="run the ceremony with the 'ceremony' command (CLI or TUI), which does",
            )
        return
    soft, hard = report.memlock_limit
    ctx.journal(
        events.process_hardened(
            core_dumps_off=report.core_dumps_off.done,
            not_dumpable=report.not_dumpable.done,
            memory_locked=report.memory_locked.done,
            memlock_soft=soft,
            memlock_hard=hard,
            vm_locked_kib=hardening.vm_locked_kib(),
            notes=[s.detail for s in report.steps if not s.done],
            memory_lock_required=required,
        )
    )
    for step in report.steps:
        if not step.done:
            ctx.notice(f"Process hardening: {step.detail}.")
    require_memory_lock(report, required)


def require_memory_lock(report: hardening.HardeningReport, required: bool) -> None:
    """RuleViolation when the file requires locked memory and this process has none."""
    if required and not report.memory_locked.done:
        raise RuleViolation(
            f"the ceremony file requires locked memory ([ceremony] require_memory_lock), and "
            f"{report.memory_locked.detail}",
            hint="raise the memlock limit (ulimit -l unlimited, or LimitMEMLOCK=infinity) or run "
            "with CAP_IPC_LOCK, then start again; no secret exists yet",
        )


def check_lines(required: bool) -> list[str]:
    """What ``ceremony check`` says of the hardening a run from this shell would get."""
    report = hardening.last_report()
    if report is None:
        return []
    require_memory_lock(report, required)
    return [
        "Process hardening (as a run started from this shell gets it):",
        *(f"  {line}" for line in report.lines()),
    ]
