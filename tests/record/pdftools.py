"""Reading PDFs back in tests: pypdf text and attachments, pdftoppm pages, qpdf --qdf bytes."""

from __future__ import annotations

import base64
import io
import subprocess
from pathlib import Path

from pypdf import PdfReader


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def all_text(data: bytes) -> str:
    return "\n".join(page_texts(data))


def flat(text: str) -> str:
    """Text with all whitespace removed, to find values a table wrapped across lines."""
    return "".join(text.split())


def attachments(data: bytes) -> dict[str, bytes]:
    reader = PdfReader(io.BytesIO(data))
    return {name: contents[0] for name, contents in reader.attachments.items()}


def render_pages(data: bytes, folder: Path, stem: str, resolution: int = 50) -> list[Path]:
    """Every page as PNG through poppler's pdftoppm; returns the files in page order."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{stem}.pdf"
    source.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(resolution), str(source), str(folder / stem)],
        check=True,
        capture_output=True,
    )
    return sorted(folder.glob(f"{stem}-*.png"))


def decompressed(data: bytes, folder: Path, stem: str) -> bytes:
    """The PDF with every stream decompressed and no object streams (qpdf --qdf)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{stem}-in.pdf"
    target = folder / f"{stem}-qdf.pdf"
    source.write_bytes(data)
    result = subprocess.run(
        ["qpdf", "--qdf", "--object-streams=disable", str(source), str(target)],
        capture_output=True,
    )
    # qpdf exits 3 for warnings (e.g. a signed file's incremental update); the output is there.
    assert result.returncode in (0, 3), result.stderr.decode()
    return target.read_bytes()


def secret_forms(secret: bytes) -> dict[str, bytes]:
    """Every encoding of a secret that a leak could take: raw, hex both cases, base64 variants."""
    forms = {
        "raw": secret,
        "hex lower": secret.hex().encode(),
        "hex upper": secret.hex().upper().encode(),
        "base64": base64.b64encode(secret),
        "base64url": base64.urlsafe_b64encode(secret),
        "base64 unpadded": base64.b64encode(secret).rstrip(b"="),
    }
    # Hex split into the 4-digit groups the forms use, and an 8-byte prefix that a line would show.
    upper = secret.hex().upper()
    forms["hex groups"] = " ".join(upper[i : i + 4] for i in range(0, len(upper), 4)).encode()
    forms["hex first line"] = " ".join(upper[i : i + 4] for i in range(0, 16, 4)).encode()
    return forms


def leaks(pdf_plain: bytes, secrets: list[bytes]) -> list[str]:
    found = []
    for n, secret in enumerate(secrets):
        for name, form in secret_forms(secret).items():
            if form in pdf_plain:
                found.append(f"secret {n} as {name}")
    return found
