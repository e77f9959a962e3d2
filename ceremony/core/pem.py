"""PEM-style blocks found in linear time: markers located with ``bytes.find``, no regex."""

from __future__ import annotations

from collections.abc import Iterator

_BEGIN = b"-----BEGIN "
_END = b"-----END "
_DASHES = b"-----"
_LABEL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ")


def _markers(data: bytes, head: bytes, line_end: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Each ``head LABEL-----`` (then ``line_end``) in ``data``: (start, end, label).

    Every search starts after the last one began, and a label's characters cannot hold a dash,
    so each byte is looked at a bounded number of times: the whole scan is linear.
    """
    at = data.find(head)
    while at >= 0:
        i = at + len(head)
        while i < len(data) and data[i] in _LABEL:
            i += 1
        label = data[at + len(head) : i]
        tail = _DASHES + line_end
        if label and data.startswith(tail, i):
            yield at, i + len(tail), label
        at = data.find(head, at + 1)


def pem_blocks(data: bytes, *, line_end: bytes = b"") -> list[tuple[str, bytes]]:
    """The complete blocks ``-----BEGIN L-----body-----END L-----`` of ``data``, in order.

    The same blocks as ``re.findall(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----",
    data, re.DOTALL)`` (``line_end`` after each marker, e.g. ``b"\\n"``), whose lazy body
    before a backreference rescans to the end from every BEGIN: quadratic on hostile input.
    Here each BEGIN takes the first later END of its label, kept per label with a pointer that
    only moves forward, and blocks never overlap; the cost is linear in ``len(data)``.
    """
    ends: dict[bytes, list[tuple[int, int]]] = {}
    for start, end, label in _markers(data, _END, line_end):
        ends.setdefault(label, []).append((start, end))
    taken = dict.fromkeys(ends, 0)  # per label: the first END not yet passed
    blocks: list[tuple[str, bytes]] = []
    resume = 0
    for start, body, label in _markers(data, _BEGIN, line_end):
        if start < resume:
            continue  # inside the block just found
        candidates = ends.get(label, [])
        k = taken.get(label, 0)
        while k < len(candidates) and candidates[k][0] < body:
            k += 1
        taken[label] = k
        if k == len(candidates):
            continue
        end_start, end_stop = candidates[k]
        blocks.append((label.decode("ascii"), data[body:end_start]))
        resume = end_stop
    return blocks
