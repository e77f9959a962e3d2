"""One line per journal event for the record's steps and key histories, by event name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from ceremony.core import journal
from ceremony.core.journal import Entry
from ceremony.record import attempts
from ceremony.record.fields import kcv_text, text, texts


def _opened(entry: Entry) -> str:
    d = entry.data
    mode = "REHEARSAL" if d.get("rehearsal") is True else "production"
    return f"ceremony {entry.ceremony} opened: {text(d, 'ceremony_type')}, {mode}"


def _airgap(entry: Entry) -> str:
    d = entry.data
    state = "isolated" if d.get("isolated") is True else "NOT isolated"
    extra = f"; override by {', '.join(texts(d, 'override_by'))}" if "override_by" in d else ""
    return f"air gap checked: {state}{extra}"


def _generated(entry: Entry) -> str:
    d = entry.data
    size = text(d, "bits") + " bits" if "bits" in d else text(d, "curve")
    return (
        f"key {text(d, 'key')} generated ({text(d, 'type')} {size}) in {text(d, 'where')}"
        + _sources(d)
    )


def _sources(d: Mapping[str, object]) -> str:
    """How the token computed each check value, where it said (CMAC from ECB is not CMAC)."""
    sources = d.get("kcv_sources")
    if not isinstance(sources, list):
        return ""
    parts = [f"{text(s, 'kcv_method')} {text(s, 'source')}" for s in sources if isinstance(s, dict)]
    return "; check values: " + "; ".join(parts) if parts else ""


def _imported(entry: Entry) -> str:
    d = entry.data
    return f"key {text(d, 'key')} imported into the HSM ({text(d, 'path')})" + _sources(d)


def _component(verb: str) -> Callable[[Entry], str]:
    def describe(entry: Entry) -> str:
        d = entry.data
        return (
            f"component {text(d, 'index')} of key {text(d, 'key')} {verb} "
            f"{text(d, 'custodian')}, KCV {kcv_text(d)}"
        )

    return describe


def _envelope(entry: Entry) -> str:
    d = entry.data
    state = ""
    if entry.event == "envelope_checked":
        state = ", intact" if d.get("intact") is True else ", NOT INTACT"
        if d.get("serial_matches") is False:
            state = f", serial NOT {text(d, 'recorded')} as recorded: not opened"
    verb = "sealed" if entry.event == "envelope_sealed" else "checked"
    return (
        f"envelope {text(d, 'envelope')} {verb} for component {text(d, 'index')} of key "
        f"{text(d, 'key')} ({text(d, 'custodian')}){state}"
    )


def _combined(entry: Entry) -> str:
    d = entry.data
    match = "matches" if d.get("matches_recorded") is True else "DOES NOT match"
    return (
        f"key {text(d, 'key')} combined {text(d, 'path')}, KCV {kcv_text(d)} {match} "
        "the recorded KCV"
    )


def _wrapped(entry: Entry) -> str:
    d = entry.data
    files = d.get("files")
    n = len(files) if isinstance(files, list) else 0
    return (
        f"key {text(d, 'key')} wrapped for {text(d, 'target')} in {text(d, 'where')} "
        f"({text(d, 'method')}), {n} file(s)"
    )


def _attempt(entry: Entry) -> str:
    (found,) = attempts.read([entry])
    return "FAILED ATTEMPT: " + attempts.describe(found)


def _destroyed(entry: Entry) -> str:
    d = entry.data
    left = (
        f", the orphan left by the interrupted ceremony {text(d, 'left_by')}"
        if "left_by" in d
        else ""
    )
    return f"key {text(d, 'key')} destroyed in the HSM{left}"


def _count(d: Mapping[str, object], name: str) -> int:
    value = d.get(name)
    return len(value) if isinstance(value, list) else 0


def _reviewed(entry: Entry) -> str:
    d = entry.data
    aborted = d.get("aborted")
    names = (
        [text(a, "ceremony") for a in aborted if isinstance(a, dict)]
        if isinstance(aborted, list)
        else []
    )
    return (
        f"restart after the aborted ceremony {', '.join(names) or '?'}: "
        f"{_count(d, 'keys')} orphaned key(s) to destroy, {_count(d, 'components')} component(s) "
        f"to void, {_count(d, 'outputs')} output(s) left as evidence; read aloud and confirmed "
        f"by {text(d, 'confirmed_by')}"
    )


def _voided(entry: Entry) -> str:
    d = entry.data
    items = d.get("components")
    parts = [
        f"{text(c, 'index')} ({text(c, 'custodian')})"
        for c in (items if isinstance(items, list) else [])
        if isinstance(c, dict)
    ]
    return (
        f"component(s) {', '.join(parts) or '?'} of key {text(d, 'key')}, set "
        f"{text(d, 'split_set')}, VOIDED (issued by the interrupted ceremony {text(d, 'left_by')}),"
        f" approved by {', '.join(texts(d, 'approvers'))}"
    )


def _with(template: str, lists: tuple[str, ...] = ()) -> Callable[[Entry], str]:
    """``template`` with each ``{field}`` read as text, the fields in ``lists`` joined by commas."""

    def describe(entry: Entry) -> str:
        d = entry.data
        values = {name: text(d, name) for name in d}
        values.update({name: ", ".join(texts(d, name)) for name in lists})
        return template.format_map(_Unknown(values))

    return describe


class _Unknown(dict[str, str]):
    """A field the entry lacks reads as "?", as ``text`` reads it."""

    def __missing__(self, key: str) -> str:
        return text({}, key)


def _hardened(entry: Entry) -> str:
    d = entry.data

    def said(field: str) -> str:
        value = d.get(field)
        return "yes" if value is True else ("NO" if value is False else "?")

    locked = d.get("vm_locked_kib")
    return (
        f"process hardened: core dumps off {said('core_dumps_off')}, not dumpable "
        f"{said('not_dumpable')}, memory locked {said('memory_locked')}"
        + (
            f" (VmLck {locked} kB)"
            if isinstance(locked, int) and not isinstance(locked, bool)
            else ""
        )
        + ("; locked memory required by the file" if d.get("memory_lock_required") is True else "")
    )


# Every event of docs/journal-events.md; an event not here is named as one this version
# does not describe.
DESCRIPTIONS: Mapping[str, Callable[[Entry], str]] = MappingProxyType(
    {
        journal.GENESIS: _opened,
        "run_started": _with(
            "run {run} started: the ceremony starts again from the beginning after the aborted run"
        ),
        "process_hardened": _hardened,
        "time_attested": _with("wall clock attested: {attested_time} (system {system_time})"),
        "airgap_checked": _airgap,
        "participant_present": _with("present: {name} ({participant}), {role}, {id_reference}"),
        "hsm_opened": _with(
            "HSM opened: {model} serial {serial}, token {token_label}, login {login}"
        ),
        "signing_identity": _with(
            "record signing key {key_label} on {model} serial {serial}, certificate {subject}"
        ),
        "random_source": _with("randomness: {source}"),
        "approval": _with("approved {operation} of {subject} by {approvers}", lists=("approvers",)),
        "key_generated": _generated,
        "key_checked": _with("key {key} (id {id}) found on the token; its KCV is the recorded one"),
        "component_issued": _component("issued to"),
        "component_entered": _component("entered by"),
        "component_shown_again": _with(
            "component {index} of key {key} shown again to {custodian}, approved by {approvers}",
            lists=("approvers",),
        ),
        "envelope_sealed": _envelope,
        "envelope_checked": _envelope,
        "key_combined": _combined,
        "key_block_opened": _with(
            "key {key} opened in memory from its TR-31 block (version {version}, usage "
            "{key_usage}, mode {mode_of_use}) under {kbpk}; its KCV matches the sender's"
        ),
        "key_block_written": _with(
            "key {key} wrapped in memory in a TR-31 block (version {version}, usage "
            "{key_usage}, mode {mode_of_use}, exportability {exportability}) under {kbpk}: "
            "{name}"
        ),
        "key_imported": _imported,
        "key_exported": _with("key {key} exported in clear for splitting"),
        "import_key_confirmed": _with(
            "import key of {target} ({provider}) confirmed by {confirmed_by}",
            lists=("confirmed_by",),
        ),
        "wrapped": _wrapped,
        "output_written": _with("output {name} ({kind}) written"),
        "component_to_destroy": _with(
            "component {index} of key {key} held by {custodian} must be destroyed"
        ),
        "key_destroyed": _destroyed,
        "recovery_reviewed": _reviewed,
        "orphan_key_absent": _with(
            "key {key} made by the interrupted ceremony {left_by} is no longer on the token"
        ),
        "components_voided": _voided,
        "token_call": _with("token call {call} for key {key}"),
        "key_destroyed_earlier": _with(
            "key {key} was destroyed by the aborted ceremony {ceremony} (its entry {seq}); "
            "absent from the token"
        ),
        "registry_updated": _with("custodian registry written ({records} records)"),
        "printer_checked": _with("printer {printer} checked: {kind} ({device_uri})"),
        "printer_override": _with(
            "network printer {printer} allowed by {approvers}", lists=("approvers",)
        ),
        "component_printed": _with(
            "form of component {index} of key {key} printed for {custodian} on {printer} "
            "(job {job})"
        ),
        "attempt_failed": _attempt,
        "step_failed": _with("step {step} failed: {error}"),
        journal.FINISHED: _with("finished: {summary}"),
        journal.ABORTED: _with("ABORTED: {reason}"),
    }
)


def describe(entry: Entry) -> str:
    """What the entry did, in one line; an unknown event is named as such."""
    found = DESCRIPTIONS.get(entry.event)
    if found is None:
        return f"{entry.event} (an event this record version does not describe)"
    return found(entry)
