"""Reading a ceremony file and the registry it names, checked the one way every front end uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ceremony.core import journal
from ceremony.core.ceremony_file import CeremonyFile, parse_ceremony_file
from ceremony.engine.registry_store import RegistryFile
from ceremony.errors import ConfigError


def read_file(path: Path, what: str) -> bytes:
    """The bytes of ``path``; an unreadable file is a ConfigError naming ``what`` it is."""
    try:
        return path.read_bytes()
    except OSError as ex:
        raise ConfigError(
            f"cannot read the {what} {path}: {ex.strerror or ex}",
            hint="check the path and that the medium is mounted",
        ) from None


@dataclass(frozen=True)
class CheckedFile:
    """A ceremony file that parsed strictly and passed every rule against its registry.

    ``data`` is the exact bytes read: what the journal's genesis hashes and the witness compares.
    """

    path: Path
    data: bytes
    ceremony: CeremonyFile
    registry: RegistryFile | None  # None: the file names no registry

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
        digest = journal.FileDigest.of(self.data).hex
        groups = journal.hash_groups(digest)
        return [f"Ceremony file SHA-256: {groups}", *journal.hash_word_lines(digest)]


def load_ceremony_file(path: Path) -> CheckedFile:
    """Parse ``path`` strictly and validate it with the registry it names (split knowledge)."""
    data = read_file(path, "ceremony file")
    ceremony = parse_ceremony_file(data, validate=False)
    registry = None
    if ceremony.ceremony.registry is not None:
        registry = RegistryFile.read(path.resolve().parent / ceremony.ceremony.registry)
    ceremony.validate(registry.registry if registry is not None else None)
    return CheckedFile(path, data, ceremony, registry)
