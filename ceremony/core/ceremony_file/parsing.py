"""Strict TOML into the ceremony file's dataclasses, naming the dotted path of every problem."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

from ceremony.core.ceremony_file.document import CeremonyFile
from ceremony.core.ceremony_file.sections import (
    SIGNING_LABEL,
    CeremonyInfo,
    ComponentSpec,
    HsmSpec,
    KeyBlockEntry,
    KeyBlockOut,
    KeyEntry,
    PrinterSpec,
    SigningSpec,
    SplitSpec,
)
from ceremony.core.ceremony_file.targets import (
    AwsFields,
    AwsPaymentFields,
    AzureFields,
    GcpFields,
    ProviderFields,
    TargetEntry,
)
from ceremony.core.ceremony_file.vocabulary import (
    _PROVIDERS,
    _SOURCES,
    CeremonyType,
    FileError,
    HsmLogin,
    KeySource,
    KeyType,
    TrustedWrap,
    WrapPlace,
    _show,
)
from ceremony.core.component import Scheme
from ceremony.core.kcv import CheckValue, parse_check_value
from ceremony.core.key_roles import KeyRole
from ceremony.core.providers.gcp import PROTECTION_LEVELS
from ceremony.core.providers.import_key import parse_fingerprint
from ceremony.core.providers.methods import Provider, WrapMethod, parse_method
from ceremony.core.registry import Registry
from ceremony.core.rules import (
    Participant,
    Role,
)
from ceremony.errors import CeremonyError, ConfigError

MAX_FILE = 256 * 1024  # bytes; a ceremony file is a page or two
# Any key naming a PIN, password or secret is refused before anything else is read.
_SECRET_KEY = re.compile(
    r"(?:^|[-_ .])(?:pins?|puk|pwd|passwd|so_?pin|user_?pin)(?:$|[-_ .])"
    r"|password|passphrase|secret",
    re.IGNORECASE,
)

# ---- parsing ----------------------------------------------------------------------------------

_T = TypeVar("_T")


class _Table:
    """A TOML table at ``path``; refuses unknown keys and wrong types, naming the dotted path."""

    def __init__(
        self,
        raw: object,
        path: str,
        allowed: Sequence[str],
        elsewhere: dict[str, str] | None = None,
    ) -> None:
        if not isinstance(raw, dict):
            raise FileError(path, "must be a table", hint="see docs/ceremony-file.md")
        self.raw: dict[str, Any] = raw
        self.path = path
        for key in raw:
            if key not in allowed:
                where = (elsewhere or {}).get(key)
                if where:
                    raise FileError(self.at(key), f"is {where}", hint="remove it")
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]}?" if close else "known: " + ", ".join(allowed)
                raise FileError(self.at(key), "is not a known field", hint=hint)

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, kind: type[_T], what: str, required: bool) -> _T | None:
        if key not in self.raw:
            if required:
                raise FileError(self.at(key), "is missing", hint="see docs/ceremony-file.md")
            return None
        value = self.raw[key]
        # bool is an int in Python; TOML keeps them apart, so do we.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise FileError(self.at(key), f"must be {what}, not {_toml_type(value)}")
        return value

    def text(self, key: str, required: bool = True) -> str | None:
        return self._get(key, str, "a string", required)

    def need_text(self, key: str) -> str:
        value = self.text(key)
        assert value is not None
        return value

    def integer(self, key: str, required: bool = True) -> int | None:
        return self._get(key, int, "an integer", required)

    def flag(self, key: str) -> bool:
        return bool(self._get(key, bool, "true or false", False))

    def choice(self, key: str, choices: dict[str, _T], required: bool = True) -> _T | None:
        value = self.text(key, required)
        if value is None:
            return None
        if value not in choices:
            raise FileError(self.at(key), f"is {_show(value)}, not one of " + ", ".join(choices))
        return choices[value]

    def table(self, key: str, allowed: Sequence[str], required: bool = True) -> _Table | None:
        if key not in self.raw:
            if required:
                raise FileError(self.at(key), "is missing", hint="see docs/ceremony-file.md")
            return None
        return _Table(self.raw[key], self.at(key), allowed)

    def tables(self, key: str) -> list[tuple[str, object]]:
        value = self.raw.get(key, [])
        if not isinstance(value, list):
            raise FileError(self.at(key), f"must be an array of tables ([[{self.at(key)}]])")
        return [(f"{self.at(key)}[{i}]", item) for i, item in enumerate(value)]

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise FileError(self.at(key), "must be a list of strings")
        return tuple(value)

    def when(self, key: str) -> datetime | None:
        value = self._get(key, datetime, "a date and time", False)
        if value is not None and value.tzinfo is not None:
            # 9999-12-31T23:59:59-23:59 is valid TOML but past datetime's range in UTC.
            try:
                value.astimezone(UTC)
            except OverflowError:
                raise FileError(
                    self.at(key),
                    "is out of range once taken to UTC",
                    hint="write a real date, e.g. 2027-06-30T00:00:00Z",
                ) from None
        return value


def _toml_type(value: object) -> str:
    for kind, name in ((bool, "true/false"), (int, "a number"), (float, "a number")):
        if isinstance(value, kind):
            return name
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return "a date or time" if hasattr(value, "isoformat") else type(value).__name__


MAX_NESTING = 16  # arrays and tables inside each other; a ceremony file needs 4
MAX_DIGITS = 4300  # Python's own limit on int(str); tomllib raises a bare ValueError past it


def load_toml(text: str, what: str) -> dict[str, Any]:
    """``text`` as a TOML document; FileError naming the problem, also for tomllib's own limits.

    tomllib recurses per level of nesting and converts integers with ``int()``, so a file
    nested a few thousand deep or holding an integer of thousands of digits escapes it as
    RecursionError or ValueError: both are told here, with what to do.
    """
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        raise FileError(
            what,
            f"is nested too deep (arrays or tables inside each other; at most {MAX_NESTING})",
            hint="this is not a ceremony's TOML: check the file",
        ) from None
    except tomllib.TOMLDecodeError as ex:
        raise FileError(what, f"is not valid TOML: {ex}", hint="fix the syntax") from None
    except ValueError as ex:  # int() past sys.get_int_max_str_digits()
        if "digits" not in str(ex):
            raise FileError(what, f"is not valid TOML: {ex}", hint="fix the syntax") from None
        raise FileError(
            what,
            f"holds an integer of more than {MAX_DIGITS} digits",
            hint="no value of a ceremony needs such a number: check the file",
        ) from None
    where = _too_deep(doc)
    if where is not None:
        raise FileError(
            where,
            f"is nested more than {MAX_NESTING} deep (arrays or tables inside each other)",
            hint="this is not a ceremony's TOML: check the file",
        )
    return doc


def _too_deep(doc: dict[str, Any]) -> str | None:
    """The top-level key under which ``doc`` nests past MAX_NESTING, else None (no recursion)."""
    stack: list[tuple[object, int, str]] = [(v, 1, str(k)) for k, v in doc.items()]
    while stack:
        node, depth, top = stack.pop()
        if depth > MAX_NESTING:
            return top
        if isinstance(node, dict):
            stack.extend((v, depth + 1, top) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1, top) for v in node)
    return None


def _refuse_secret_keys(node: object, path: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if _SECRET_KEY.search(str(key)):
                raise FileError(
                    here,
                    "would hold a PIN, password or secret; a ceremony file never does",
                    hint="remove it: PINs are typed at the HSM prompt, passphrases at roll call",
                )
            _refuse_secret_keys(value, here)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _refuse_secret_keys(item, f"{path}[{i}]")


_TOP = ("ceremony", "participants", "hsm", "keys", "printer", "signing")
_CEREMONY = (
    "id", "type", "site", "purpose", "rehearsal", "output", "registry", "require_memory_lock",
)  # fmt: skip
_PARTICIPANT = ("id", "name", "role", "id_reference")
_HSM = ("module", "token_label", "token_serial", "login", "init_reserved", "trusted_wrap")
_PRINTER = ("queue",)
_SIGNING = (
    "organization",
    "key_label",
    "create",
    "validity_days",
    "module",
    "token_label",
    "token_serial",
    "init_reserved",
)
_KEY = (
    "label",
    "type",
    "bits",
    "curve",
    "source",
    "kcv",
    "store_in_hsm",
    "split",
    "new_split",
    "targets",
    "role",
    "key_block",
    "tr31",
)
_KEY_BLOCK = ("file", "kbpk")
_KEY_BLOCK_OUT = ("label", "kbpk", "exportability", "key_version")
_SPLIT = ("scheme", "threshold", "count", "made_in", "components", "format")
_COMPONENT = ("index", "custodian", "backup", "kcv", "envelope")
_TARGET_COMMON = ("label", "provider", "algorithm", "import_key", "fingerprint", "wrap")
_TARGET_FIELDS = MappingProxyType(
    {
        Provider.AWS: (
            "key_id",
            "region",
            "import_token",
            "material_valid_to",
            "material_never_expires",
        ),
        Provider.AZURE: ("kek_id", "key_name", "ops"),
        Provider.GCP: ("import_job", "key", "key_algorithm", "protection_level", "undated_job"),
        Provider.AWS_PAYMENT_CRYPTOGRAPHY: ("root_ca_fingerprint", "exportable", "region"),
    }
)
_ROLES = MappingProxyType({r.value: r for r in Role})
_TYPES = MappingProxyType({t.value: t for t in CeremonyType})
_KEY_TYPES = MappingProxyType({t.value: t for t in KeyType})
_SCHEMES: dict[str, Scheme | None] = {"none": None, "xor": Scheme.XOR, "shamir": Scheme.SHAMIR}
_WRAPS = MappingProxyType({w.value: w for w in WrapPlace})
_LOGINS = MappingProxyType({x.value: x for x in HsmLogin})
_TRUSTED_WRAPS = MappingProxyType({x.value: x for x in TrustedWrap})
_SOURCE_NAMES = MappingProxyType({s.value: s for s in KeySource})


def _converted(path: str, call: Callable[[], _T]) -> _T:
    try:
        return call()
    except FileError:
        raise
    except CeremonyError as ex:
        raise FileError(path, f"is invalid: {ex.message}", hint=ex.hint) from None


def _parse_kcv(path: str, text: str | None) -> CheckValue | None:
    if text is None:
        return None
    return _converted(path, lambda: parse_check_value(text))


def _parse_split(table: _Table, path_name: str) -> SplitSpec | None:
    split = table.table(path_name, _SPLIT, required=False)
    if split is None:
        return None
    scheme = split.choice("scheme", _SCHEMES)
    components = []
    for i, (path, raw) in enumerate(split.tables("components")):
        c = _Table(raw, path, _COMPONENT)
        kcv_text = c.text("kcv", False)
        index = c.integer("index", False)
        components.append(
            ComponentSpec(
                index=i + 1 if index is None else index,
                custodian=c.need_text("custodian"),
                backup=c.text("backup", False),
                kcv=_parse_kcv(c.at("kcv"), kcv_text),
                envelope=c.text("envelope", False),
            )
        )
    return SplitSpec(
        scheme=scheme,
        threshold=split.integer("threshold", False),
        components=tuple(components),
        made_in=split.text("made_in", False),
        total=split.integer("count", False),
        plain=split.choice("format", {"ceremony": False, "plain": True}, required=False) or False,
    )


def _parse_target(path: str, raw: object) -> TargetEntry:
    every = _TARGET_COMMON + tuple(f for fields in _TARGET_FIELDS.values() for f in fields)
    peek = _Table(raw, path, every)
    provider = peek.choice("provider", dict(_PROVIDERS))
    assert provider is not None
    own = _TARGET_FIELDS[provider]
    elsewhere = {
        f: f"a field of {other.value} targets, not {provider.value} ones"
        for other, fields in _TARGET_FIELDS.items()
        if other is not provider
        for f in fields
        if f not in own
    }
    t = _Table(raw, path, _TARGET_COMMON + own, elsewhere)
    method_text = t.text("algorithm", provider is not Provider.AZURE)
    if method_text is None:
        method = WrapMethod.AZURE_BYOK
    else:
        try:
            method = parse_method(method_text, provider)
        except CeremonyError as ex:
            raise FileError(
                t.at("algorithm"),
                f"is {_show(method_text)}, not a wrapping method for {provider.value}",
                hint=ex.hint,
            ) from None
    fingerprint_text = t.text("fingerprint", False)
    fingerprint = (
        _converted(t.at("fingerprint"), lambda: parse_fingerprint(fingerprint_text or ""))
        if fingerprint_text is not None
        else None
    )
    fields: ProviderFields
    if provider is Provider.AWS_PAYMENT_CRYPTOGRAPHY:
        if fingerprint is not None:
            raise FileError(
                t.at("fingerprint"),
                "is not used for aws-payment-cryptography targets: the service makes a new "
                "wrapping key for each get-parameters-for-import, certified by its root CA",
                hint="pin the root CA certificate instead: root_ca_fingerprint = the SHA-256 of "
                "its DER",
            )
        root_text = t.text("root_ca_fingerprint", False)
        fields = AwsPaymentFields(
            root_ca_fingerprint=(
                _converted(t.at("root_ca_fingerprint"), lambda: parse_fingerprint(root_text or ""))
                if root_text is not None
                else None
            ),
            exportable=t.flag("exportable"),
            region=t.text("region", False),
        )
    elif provider is Provider.AWS:
        fields = AwsFields(
            key_id=t.text("key_id", False),
            region=t.text("region", False),
            import_token=t.text("import_token", False),
            material_valid_to=t.when("material_valid_to"),
            material_never_expires=t.flag("material_never_expires"),
        )
    elif provider is Provider.AZURE:
        fields = AzureFields(
            kek_id=t.need_text("kek_id"), key_name=t.need_text("key_name"), ops=t.texts("ops")
        )
    else:
        fields = GcpFields(
            key=t.need_text("key"),
            import_job=t.text("import_job", False),
            key_algorithm=t.text("key_algorithm", False),
            protection_level=t.choice(
                "protection_level", {level: level for level in PROTECTION_LEVELS}, required=False
            )
            or "HSM",
            undated_job=t.flag("undated_job"),
        )
    wrap = t.choice("wrap", dict(_WRAPS), required=False) or WrapPlace.HSM
    return TargetEntry(
        label=t.need_text("label"),
        provider=provider,
        algorithm=method,
        import_key=t.need_text("import_key"),
        fingerprint=fingerprint,
        fields=fields,
        wrap=wrap,
    )


def _parse_signing(t: _Table) -> SigningSpec:
    days = t.integer("validity_days", False)
    return SigningSpec(
        organization=t.text("organization", False),
        key_label=t.text("key_label", False) or SIGNING_LABEL,
        create=t.flag("create"),
        validity_days=1825 if days is None else days,
        module=t.text("module", False),
        token_label=t.text("token_label", False),
        token_serial=t.text("token_serial", False),
        init_reserved=t.text("init_reserved", False),
    )


def _parse_key(path: str, raw: object, kind: CeremonyType) -> KeyEntry:
    k = _Table(raw, path, _KEY)
    key_type = k.choice("type", dict(_KEY_TYPES))
    assert key_type is not None
    source = k.choice("source", dict(_SOURCE_NAMES), required=False) or _SOURCES[kind][0]
    kcv_text = k.text("kcv", False)
    split = _parse_split(k, "split") or SplitSpec(None)
    return KeyEntry(
        label=k.need_text("label"),
        type=key_type,
        source=source,
        bits=k.integer("bits", False),
        curve=k.text("curve", False),
        kcv=_parse_kcv(k.at("kcv"), kcv_text),
        store_in_hsm=k.flag("store_in_hsm"),
        split=split,
        new_split=_parse_split(k, "new_split"),
        targets=tuple(_parse_target(p, r) for p, r in k.tables("targets")),
        role=k.choice("role", {r.value: r for r in KeyRole}, required=False) or KeyRole.DATA,
        key_block=_parse_key_block(k),
        tr31=tuple(_parse_block_out(p, r) for p, r in k.tables("tr31")),
    )


def _parse_block_out(path: str, raw: object) -> KeyBlockOut:
    t = _Table(raw, path, _KEY_BLOCK_OUT)
    return KeyBlockOut(
        label=t.need_text("label"),
        kbpk=t.need_text("kbpk"),
        exportability=t.choice("exportability", {v: v for v in "NES"}, required=False) or "N",
        key_version=t.text("key_version", False) or "00",
    )


def _parse_key_block(k: _Table) -> KeyBlockEntry | None:
    block = k.table("key_block", _KEY_BLOCK, required=False)
    if block is None:
        return None
    return KeyBlockEntry(file=block.need_text("file"), kbpk=block.need_text("kbpk"))


def parse_ceremony_file(
    source: str | bytes, *, registry: Registry | None = None, validate: bool = True
) -> CeremonyFile:
    """Parse and (by default) validate a ceremony file given as TOML text or UTF-8 bytes.

    Raises FileError (a ConfigError) or RuleBreach (a RuleViolation), each naming the dotted
    path; messages never hold a PIN because keys that could hold one are refused first.
    """
    if isinstance(source, bytes | bytearray):
        if len(source) > MAX_FILE:
            raise ConfigError("the ceremony file is too large", hint="is this the right file?")
        try:
            text = bytes(source).decode("utf-8")
        except UnicodeDecodeError as ex:
            raise ConfigError(
                f"the ceremony file is not UTF-8 (byte {ex.start})", hint="save it as UTF-8"
            ) from None
    else:
        text = source
    if len(text) > MAX_FILE:
        raise ConfigError("the ceremony file is too large", hint="is this the right file?")
    doc = load_toml(text.removeprefix("\ufeff"), "the ceremony file")
    _refuse_secret_keys(doc, "")
    top = _Table(doc, "", _TOP)
    head = top.table("ceremony", _CEREMONY)
    assert head is not None
    kind = head.choice("type", dict(_TYPES))
    assert kind is not None
    info = CeremonyInfo(
        id=head.need_text("id"),
        type=kind,
        site=head.need_text("site"),
        purpose=head.need_text("purpose"),
        output=head.need_text("output"),
        rehearsal=head.flag("rehearsal"),
        registry=head.text("registry", False),
        require_memory_lock=head.flag("require_memory_lock"),
    )
    participants = []
    for path, raw in top.tables("participants"):
        p = _Table(raw, path, _PARTICIPANT)
        role = p.choice("role", dict(_ROLES))
        assert role is not None
        participants.append(
            Participant(
                id=p.need_text("id"),
                name=p.need_text("name"),
                role=role,
                id_reference=p.need_text("id_reference"),
            )
        )
    hsm = top.table("hsm", _HSM)
    assert hsm is not None
    printer = top.table("printer", _PRINTER, required=False)
    signing = top.table("signing", _SIGNING, required=False)
    result = CeremonyFile(
        ceremony=info,
        participants=tuple(participants),
        hsm=HsmSpec(
            module=hsm.need_text("module"),
            token_label=hsm.text("token_label", False),
            token_serial=hsm.text("token_serial", False),
            login=hsm.choice("login", dict(_LOGINS), required=False) or HsmLogin.PIN,
            init_reserved=hsm.text("init_reserved", False),
            trusted_wrap=hsm.choice("trusted_wrap", dict(_TRUSTED_WRAPS), required=False)
            or TrustedWrap.REQUIRED,
        ),
        keys=tuple(_parse_key(path, raw, kind) for path, raw in top.tables("keys")),
        printer=PrinterSpec(printer.need_text("queue")) if printer is not None else None,
        signing=_parse_signing(signing) if signing is not None else None,
    )
    if validate:
        result.validate(registry)
    return result
