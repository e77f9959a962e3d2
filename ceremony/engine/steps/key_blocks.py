"""TR-31 key blocks received under a key loaded in this ceremony: read, checked, opened, loaded."""

from __future__ import annotations

from pathlib import Path

from ceremony.core import events, kcv, parity, rng, tr31
from ceremony.core.ceremony_file import CeremonyFile, KeyEntry, KeySource
from ceremony.core.component import KeyAlgorithm
from ceremony.core.journal import FileDigest
from ceremony.core.payment_events import key_block_opened, key_block_written
from ceremony.core.providers import BundleFile
from ceremony.core.rules import Operation
from ceremony.core.secret import Secret
from ceremony.engine.context import Context, Flow
from ceremony.engine.step_id import Family, StepId
from ceremony.engine.steps import people
from ceremony.engine.steps.evidence import write_files
from ceremony.errors import CeremonyError, CheckValueError, ConfigError, KeyBlockError
from ceremony.reading import read_file

# X9.143 caps a block at 9,999 characters (its length field has four digits).
MAX_BLOCK_FILE = 16 * 1024


def load_key_blocks(cf: CeremonyFile, base: Path) -> dict[str, str]:
    """Every received block, read and its clear header checked against the file before any
    work: the usage its role needs, its algorithm, and a version its KBPK can open."""
    blocks: dict[str, str] = {}
    by_label = {k.label: k for k in cf.keys}
    for i, key in enumerate(cf.keys):
        if key.source is not KeySource.KEY_BLOCK or key.key_block is None:
            continue
        path = f"keys[{i}].key_block.file"
        try:
            raw = read_file(
                base / key.key_block.file,
                "TR-31 key block",
                cap=MAX_BLOCK_FILE,
                hint="put the block the sender gave next to the ceremony file, as the file "
                "names it",
            )
            text = raw.decode("ascii").strip()
            header = tr31.read_header(text)
            require_fits(header, key, by_label[key.key_block.kbpk])
        except UnicodeDecodeError:
            raise ConfigError(
                f"{path}: the key block is not ASCII text",
                hint="a TR-31 block is printable ASCII; ask the sender for the block as text",
            ) from None
        except CeremonyError as ex:
            raise ConfigError(f"{path}: {ex.message}", hint=ex.hint) from None
        blocks[key.label] = text
    return blocks


def require_fits(header: tr31.Header, key: KeyEntry, kbpk: KeyEntry) -> None:
    """Raise KeyBlockError unless the block's header is what the file says the key is."""
    assert key.algorithm is not None and kbpk.algorithm is not None and kbpk.length is not None
    if header.key_algorithm is not key.algorithm:
        raise KeyBlockError(
            f"the block holds a key of type {header.key_algorithm.value}, the file declares "
            f"{key.describe()}",
            hint="check the key type against the sender's key letter",
        )
    wanted = key.role.usage(key.algorithm) if key.role.allows(key.algorithm) else None
    if wanted is not None and header.key_usage != wanted:
        raise KeyBlockError(
            f"the block's key usage is {header.key_usage}, and a {key.role.facts.name} is {wanted}",
            hint="check the key's role in the ceremony file against the sender's key letter",
        )
    expected = "B" if kbpk.algorithm is KeyAlgorithm.TDES else "D"
    if header.version != expected:
        raise KeyBlockError(
            f"the block is version {header.version}, and its KBPK {kbpk.label!r} "
            f"({kbpk.describe()}) opens version {expected} blocks",
            hint="ask the sender for a version B block under a TDES KBPK, D under an AES one",
        )


def open_key_block(
    ctx: Context, key: KeyEntry, kbpk: Secret
) -> Flow[tuple[Secret, kcv.CheckValue]]:
    """Open ``key``'s block in memory under ``kbpk`` (two approvals) and check its KCV."""
    assert key.key_block is not None and key.kcv is not None and key.algorithm is not None
    ctx.stage(StepId.of(Family.ASSEMBLE, key.label))
    yield from people.approve(ctx, Operation.OPEN_KEY_BLOCK, key.label)
    text = ctx.key_blocks[key.label]
    kbpk_entry = next(k for k in ctx.cf.keys if k.label == key.key_block.kbpk)
    assert kbpk_entry.algorithm is not None
    header, material = tr31.unwrap(kbpk, text, kbpk_algorithm=kbpk_entry.algorithm, label=key.label)
    ctx.keep(material)
    if len(material) != key.length:
        raise KeyBlockError(
            f"the block holds a {len(material)}-byte key, the file declares {key.describe()}",
            hint="stop: check the key length against the sender's key letter",
        )
    if parity.needs_parity(key.algorithm):
        parity.require_odd_parity(material.reveal(), f"the key in the block of {key.label!r}")
    computed = kcv.check_value(material, key.kcv.method, len(key.kcv.value))
    try:
        kcv.require_match(key.kcv, computed, f"the key in the block of {key.label!r}")
    except CheckValueError as ex:
        raise CheckValueError(
            ex.message,
            hint="stop: the block is not the key the sender's letter names, or the KBPK is "
            "another key; nothing was loaded",
        ) from None
    ctx.journal(
        key_block_opened(
            key=key.label,
            type=key.type.value,
            bits=len(material) * 8,
            kbpk=kbpk_entry.label,
            header=header,
            block_sha256=FileDigest.of(text.encode("ascii")),
            kcv=computed,
            role=key.describe_role() if key.role.payment else None,
        )
    )
    ctx.notice(
        f"Key {key.label} opened from its TR-31 block under {kbpk_entry.label} "
        f"(usage {header.key_usage}, mode {header.mode_of_use}); its KCV {computed} matches."
    )
    return material, computed


_ALGORITHM_LETTER = {KeyAlgorithm.TDES: "T", KeyAlgorithm.AES: "A", KeyAlgorithm.HMAC: "H"}


def write_key_blocks(ctx: Context, key: KeyEntry, material: Secret) -> Flow[None]:
    """Wrap ``key`` in memory in each TR-31 block the file asks for (two approvals, once)."""
    if not key.tr31:
        return
    assert key.algorithm is not None and key.length is not None
    ctx.stage(StepId(Family.WRAP, key=key.label, target=key.tr31[0].label))
    yield from people.approve(ctx, Operation.WRAP_KEY_BLOCK, key.label)
    method = kcv.default_method(key.algorithm, key.length)
    key_kcv = kcv.check_value(material, method)
    for out in key.tr31:
        kbpk_entry = next(k for k in ctx.cf.keys if k.label == out.kbpk)
        assert kbpk_entry.algorithm is not None and kbpk_entry.length is not None
        kbpk = ctx.kbpks[out.kbpk]
        header = tr31.Header(
            "B" if kbpk_entry.algorithm is KeyAlgorithm.TDES else "D",
            key.role.usage(key.algorithm),
            _ALGORITHM_LETTER[key.algorithm],
            key.role.facts.mode_of_use,
            out.key_version,
            out.exportability,
        )
        with ctx.token_random():
            block = tr31.wrap(
                kbpk, header, material, rng.random_bytes, kbpk_algorithm=kbpk_entry.algorithm
            )
        data = (block + "\n").encode("ascii")
        name = f"tr31/{key.label}/{out.label}.tr31"
        ((written, digest),) = write_files(ctx, [BundleFile(name, data)])
        ctx.journal(events.output_written(name=written, sha256=digest, kind="tr31-block"))
        ctx.journal(
            key_block_written(
                key=key.label,
                label=out.label,
                kbpk=out.kbpk,
                header=header,
                name=written,
                sha256=digest,
                kcv=key_kcv,
                kbpk_kcv=kcv.check_value(
                    kbpk, kcv.default_method(kbpk_entry.algorithm, kbpk_entry.length)
                ),
            )
        )
        ctx.notice(
            f"Key {key.label} wrapped in a TR-31 block (version {header.version}, usage "
            f"{header.key_usage}, mode {header.mode_of_use}) under {out.kbpk}: {written}."
        )
        ctx.count("TR-31 block(s) written")


def kbpk_labels(cf: CeremonyFile) -> frozenset[str]:
    """The keys some later block is opened or built under: kept in memory until the end."""
    used = {k.key_block.kbpk for k in cf.keys if k.key_block is not None}
    used |= {out.kbpk for k in cf.keys for out in k.tr31}
    return frozenset(used)
