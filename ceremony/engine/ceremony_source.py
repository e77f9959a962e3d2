"""A ceremony file and the registry it names, read once and checked as every front end does."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ceremony import reading
from ceremony.core import journal
from ceremony.core.ceremony_file import MAX_FILE, CeremonyFile, parse_ceremony_file
from ceremony.core.journal import FileDigest
from ceremony.core.registry import MAX_REGISTRY
from ceremony.engine.registry_store import RegistryFile
from ceremony.errors import ConfigError


def read_file(path: Path, what: str, cap: int = MAX_FILE) -> bytes:
    """The bytes of the regular file ``path`` (at most ``cap``); else a ConfigError naming it."""
    return reading.read_file(path, what, cap=cap)


@dataclass(frozen=True)
class CheckedFile:
    """A ceremony file that parsed strictly and passed every rule against its registry.

    Read once: ``data`` is the exact bytes the witness approved (by ``sha256``, read aloud) and
    the bytes the machine runs and the journal's genesis hashes; ``registry`` is the snapshot
    of the custodian registry taken with them. Nothing reads the path again to use it.
    """

    path: Path
    data: bytes
    ceremony: CeremonyFile
    registry: RegistryFile | None  # None: the file names no registry
    sha256: FileDigest = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", FileDigest.of(self.data))  # frozen: set once here

    @property
    def base(self) -> Path:
        """The folder the file's relative paths (registry, import keys, output) start from."""
        return self.path.resolve().parent

    def registry_lines(self, *, with_path: bool) -> list[str]:
        """What the registry check covered, for the summary read aloud."""
        if self.registry is None:
            return []
        where = f" {self.registry.path}" if with_path else ""
        if self.registry.data is None:
            return [f"Custodian registry{where} does not exist yet: nothing earlier to check."]
        return [
            f"Custodian registry{where}: {len(self.registry.registry.records)} record(s) checked."
        ]

    def digest_lines(self) -> list[str]:
        """The file's SHA-256 as hex groups and words, to compare with the reviewed printout."""
        digest = self.sha256.hex
        groups = journal.hash_groups(digest)
        return [f"Ceremony file SHA-256: {groups}", *journal.hash_word_lines(digest)]

    def refuse_if_changed(self) -> None:
        """ConfigError unless the file and the registry on disk are still what was read.

        The machine runs the bytes read here, never the file on disk; a file changed since the
        witness approved it would make the paper and the run disagree, so nothing starts.
        """
        hint = (
            "nothing was started: check the file again (ceremony check, or open it again on "
            "the start screen), have the witness compare the SHA-256 with the reviewed "
            "printout, then start"
        )
        try:
            now = read_file(self.path, "ceremony file")
        except ConfigError as ex:
            raise ConfigError(
                f"{ex.message}, so it cannot be compared again with the one checked", hint=hint
            ) from None
        if now != self.data:
            raise ConfigError(
                f"the ceremony file {self.path} changed on disk after it was checked: approved "
                f"{_groups(self.sha256)}, on disk now {_groups(_digest(now))}",
                hint=hint,
            )
        registry = self.registry
        if registry is None:
            return
        try:
            current = reading.read_file_if_present(
                registry.path, "custodian registry", cap=MAX_REGISTRY
            )
        except ConfigError as ex:
            raise ConfigError(
                f"{ex.message}, so it cannot be compared again with the one checked", hint=hint
            ) from None
        if current != registry.data:
            raise ConfigError(
                f"the custodian registry {registry.path} changed on disk after the ceremony "
                f"file was checked: checked {_groups(registry.sha256)}, on disk now "
                f"{_groups(_digest(current))}",
                hint=hint,
            )


def _digest(data: bytes | None) -> FileDigest | None:
    return FileDigest.of(data) if data is not None else None


def _groups(digest: FileDigest | None) -> str:
    """A SHA-256 in the hex groups the witness reads, or that there was no file."""
    return f"SHA-256 {journal.hash_groups(digest.hex)}" if digest else "(no file)"


def load_ceremony_file(path: Path) -> CheckedFile:
    """Read ``path`` once, parse it strictly and validate it with the registry it names."""
    data = read_file(path, "ceremony file")
    ceremony = parse_ceremony_file(data, validate=False)
    registry = None
    if ceremony.ceremony.registry is not None:
        registry = RegistryFile.read(path.resolve().parent / ceremony.ceremony.registry)
    ceremony.validate(registry.registry if registry is not None else None)
    return CheckedFile(path, data, ceremony, registry)
