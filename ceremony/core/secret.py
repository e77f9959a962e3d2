"""Secret key material held in a wipeable buffer that never shows itself."""

from __future__ import annotations

import hmac
from types import TracebackType
from typing import NoReturn

from ceremony.core import rng
from ceremony.errors import KeyMaterialError


class Secret:
    """Key material or a component: a ``bytearray`` wiped on ``close()``, hidden from repr/str.

    Python may still have copies elsewhere (see docs/architecture.md, memory hygiene); this type
    keeps the one copy we own wipeable and out of every message.
    """

    __slots__ = ("_buffer", "_closed", "label")

    def __init__(self, material: bytes | bytearray | memoryview, label: str = "secret") -> None:
        self._buffer = bytearray(material)
        self._closed = False
        self.label = label

    @classmethod
    def generate(cls, length: int, label: str = "secret") -> Secret:
        """Fresh material of ``length`` bytes from the installed random source."""
        scratch = bytearray(rng.random_bytes(length))
        try:
            return cls(scratch, label)
        finally:
            scratch[:] = bytes(len(scratch))

    def reveal(self) -> bytearray:
        """The live buffer (not a copy); use it, never store or print it."""
        if self._closed:
            raise KeyMaterialError(
                f"{self.label} was already wiped",
                hint="this is a bug in the ceremony flow; restart the step",
            )
        return self._buffer

    def __len__(self) -> int:
        return len(self._buffer)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Overwrite the buffer with zeros; idempotent."""
        for i in range(len(self._buffer)):
            self._buffer[i] = 0
        self._closed = True

    def __enter__(self) -> Secret:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "wiped" if self._closed else f"{len(self._buffer)} bytes"
        return f"<Secret {self.label!r} {state}>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self.reveal(), other.reveal())

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> NoReturn:
        raise TypeError("Secret cannot be pickled")

    def __format__(self, spec: str) -> str:
        return repr(self)
