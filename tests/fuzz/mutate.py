"""Strategies that mix structured mutations of valid samples with random text and bytes.

Random text alone dies at the first syntax check; a valid sample with one field changed (to a
value of another field, another type, an edge value) reaches the checks deep inside a parser.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

# Text that parsers tend to mishandle: edges of size, encoding, nesting and look-alikes.
TOKENS: tuple[str, ...] = (
    "",
    " ",
    "\t",
    "\r\n",
    "\n",
    "\x00",
    "\ufeff",
    "\u202e",
    "\u0410lice",  # Cyrillic A
    "\uff21",  # fullwidth A
    "é",
    "😀",
    '"',
    "'",
    "\\",
    "[",
    "]",
    "{",
    "}",
    "=",
    ",",
    ":",
    "#",
    "[[",
    "]]",
    "0",
    "-1",
    "1e999",
    "nan",
    "inf",
    "0x10",
    "9007199254740993",
    "99999999999999999999999",
    "true",
    "null",
    "1979-05-27T07:32:00Z",
    "-----BEGIN PUBLIC KEY-----",
    "-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----",
    "-----BEGIN PRIVATE KEY-----",
    "SUM:",
    "KCV:",
    "01:",
    "17:",
    "OF",
    "XOR 2 OF 2",
    "SHAMIR 3 OF 5",
    "../",
    "/dev/zero",
    "A" * 300,
    # Past the parsers' own limits: nesting (RecursionError) and int digits (ValueError).
    "\nx = " + "[" * 1200,
    "\nx = " + "9" * 4400 + "\n",
    "[" * 3000,
    "9" * 4400,
)

_ALPHABET = st.characters(codec="utf-8")
SHORT_TEXT = st.text(_ALPHABET, max_size=40)


def _token() -> st.SearchStrategy[str]:
    return st.sampled_from(TOKENS) | SHORT_TEXT


@st.composite
def mutated_text(draw: st.DrawFn, sample: str, max_mutations: int = 4) -> str:
    """``sample`` with a few edits: insert, delete, replace, duplicate, swap lines, truncate."""
    text = sample
    for _ in range(draw(st.integers(1, max_mutations))):
        n = len(text)
        op = draw(st.sampled_from(("insert", "delete", "replace", "dup", "swap", "cut", "case")))
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + draw(st.sampled_from((1, 4, 32, 400))))))
        if op == "insert":
            text = text[:i] + draw(_token()) + text[i:]
        elif op == "delete":
            text = text[:i] + text[j:]
        elif op == "replace":
            text = text[:i] + draw(_token()) + text[j:]
        elif op == "dup":
            text = text[:j] + text[i:j] * draw(st.integers(1, 3)) + text[j:]
        elif op == "cut":
            text = text[:i]
        elif op == "case":
            text = text[:i] + text[i:j].swapcase() + text[j:]
        else:
            lines = text.split("\n")
            a = draw(st.integers(0, len(lines) - 1))
            b = draw(st.integers(0, len(lines) - 1))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
    return text


@st.composite
def mutated_bytes(draw: st.DrawFn, sample: bytes, max_mutations: int = 4) -> bytes:
    """``sample`` with a few byte edits: bit flips, random runs, deletions, truncation."""
    data = bytearray(sample)
    for _ in range(draw(st.integers(1, max_mutations))):
        n = len(data)
        op = draw(st.sampled_from(("flip", "insert", "delete", "cut", "set")))
        i = draw(st.integers(0, max(0, n - 1)))
        if op == "flip" and n:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and n:
            data[i] = draw(st.sampled_from((0, 0x7F, 0x80, 0xC0, 0xFF, 0x30, 0x0A)))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 64))]
        else:
            del data[i:]
    return bytes(data)


def text_inputs(samples: Sequence[str]) -> st.SearchStrategy[str]:
    """A valid sample, mutated sample text, or random text."""
    sample = st.sampled_from(list(samples))
    return st.one_of(
        sample.flatmap(mutated_text),
        sample.flatmap(lambda s: mutated_text(s, 12)),
        st.text(_ALPHABET, max_size=2000),
        sample,
    )


def byte_inputs(samples: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """A valid sample, mutated sample bytes, mutated sample text (as UTF-8), or random bytes."""
    sample = st.sampled_from(list(samples))
    decodable = [s.decode("utf-8") for s in samples if _utf8(s)]
    text = (
        st.sampled_from(decodable).flatmap(mutated_text).map(lambda t: t.encode("utf-8"))
        if decodable
        else st.nothing()
    )
    return st.one_of(sample.flatmap(mutated_bytes), text, st.binary(max_size=4000), sample)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# ---- documents (JSON and TOML trees) ----------------------------------------------------------


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [x for v in node.values() for x in _leaves(v)]
    if isinstance(node, list):
        return [x for v in node for x in _leaves(v)]
    return [node]


def _keys(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [*node, *(k for v in node.values() for k in _keys(v))]
    if isinstance(node, list):
        return [k for v in node for k in _keys(v)]
    return []


def _json_values(with_null: bool) -> st.SearchStrategy[Any]:
    scalars = (
        st.booleans()
        | st.integers(-(2**70), 2**70)
        | st.sampled_from((0, 1, -1, 2**53 - 1, 2**53, 2**63, 255, 256, 4096))
        | st.text(_ALPHABET, max_size=30)
        | st.sampled_from(TOKENS)
    )
    if with_null:
        scalars = scalars | st.none()
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(_ALPHABET, max_size=12), inner, max_size=4)
        ),
        max_leaves=8,
    )


# Built once: making strategies inside a composite, per case, costs more than the parsers.
_JSON_VALUES = {True: _json_values(True), False: _json_values(False)}


def json_values(with_null: bool = True) -> st.SearchStrategy[Any]:
    """JSON values (no floats: canonical JSON and TOML writers here take none)."""
    return _JSON_VALUES[with_null]


_PER_SAMPLE: dict[int, tuple[Any, st.SearchStrategy[Any], st.SearchStrategy[str]]] = {}


def _sample_strategies(
    sample: Any, with_null: bool
) -> tuple[st.SearchStrategy[Any], st.SearchStrategy[str]]:
    """Replacement values and key names drawn from ``sample`` itself, made once per sample."""
    key = id(sample) * 2 + with_null
    if key not in _PER_SAMPLE:
        leaves = _leaves(sample)
        names = _keys(sample)
        values = st.one_of(
            st.sampled_from(leaves) if leaves else st.nothing(),
            json_values(with_null),
            st.sampled_from(leaves).map(lambda v: [v]) if leaves else st.nothing(),
        )
        new_key = st.sampled_from(names or ["x"]) | SHORT_TEXT
        _PER_SAMPLE[key] = (sample, values, new_key)  # the sample is kept: its id stays unique
    _, values, new_key = _PER_SAMPLE[key]
    return values, new_key


@st.composite
def mutated_doc(
    draw: st.DrawFn,
    sample: Any,
    max_mutations: int = 3,
    with_null: bool = True,
    keys: st.SearchStrategy[str] | None = None,
) -> Any:
    """``sample`` (a JSON or TOML tree) with a few changes at random places: a field set to a
    value found elsewhere in the document, an edge value or another type; a field deleted,
    added or renamed; a list item duplicated, dropped or wrapped."""
    doc = copy.deepcopy(sample)
    values, sample_keys = _sample_strategies(sample, with_null)
    new_key = keys if keys is not None else sample_keys
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(("set", "set", "delete", "add", "dup", "wrap", "rename")))
        if not path and op in ("set", "delete", "wrap", "rename"):
            op = "add"
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        target = parent[path[-1]] if path else doc
        if op == "set":
            parent[path[-1]] = draw(values)
        elif op == "delete":
            del parent[path[-1]]
        elif op == "wrap":
            parent[path[-1]] = draw(st.sampled_from(([target], {draw(new_key): target})))
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(new_key)] = parent.pop(path[-1])
        elif op == "add" and isinstance(target, dict):
            target[draw(new_key)] = draw(values)
        elif op in ("add", "dup") and isinstance(target, list):
            item = copy.deepcopy(draw(st.sampled_from(target))) if target else draw(values)
            target.insert(draw(st.integers(0, len(target))), item)
        elif op == "dup" and isinstance(parent, list):
            parent.insert(path[-1], copy.deepcopy(target))
    return doc


def doc_texts(
    samples: Sequence[Any], dump: Callable[[Any], str], with_null: bool = True
) -> st.SearchStrategy[str]:
    """Serialised mutated documents; a tree the writer cannot express is dropped."""

    def written(doc: Any) -> str | None:
        try:
            return dump(doc)
        except (TypeError, ValueError):
            return None

    return (
        st.sampled_from(list(samples))
        .flatmap(lambda s: mutated_doc(s, with_null=with_null))
        .map(written)
        .filter(lambda t: t is not None)  # type: ignore[arg-type]
    )
