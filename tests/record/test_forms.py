"""Custodian component forms: every line and the KCV, nothing secret in the window or on page 2."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from ceremony.core import encoding
from ceremony.core.component import Component
from ceremony.errors import RecordError
from ceremony.record import forms
from tests.record import journals
from tests.record.pdftools import decompressed, flat, leaks, page_texts, render_pages


@pytest.fixture(scope="module")
def xor_component() -> Component:
    return journals.split_backup().components[0]


@pytest.fixture(scope="module")
def share() -> Component:
    return journals.reconstitute().components[1]


def _form(component: Component, rehearsal: bool = True, envelope: str | None = "TE-40111") -> bytes:
    return forms.component_form_pdf(
        component, "Dan Okafor", envelope, rehearsal, custodian_id="kc-dan"
    )


def _positions(data: bytes, page: int) -> list[tuple[str, float, float]]:
    """(text, x, y) of every text run on a page, in PDF points."""
    found: list[tuple[str, float, float]] = []

    def visit(text: str, cm: object, tm: list[float], font: object, size: object) -> None:
        if text.strip():
            found.append((text, tm[4], tm[5]))

    PdfReader(io.BytesIO(data)).pages[page].extract_text(visitor_text=visit)
    return found


def test_form_renders_two_pages(xor_component: Component, tmp_path: Path) -> None:
    pages = render_pages(_form(xor_component), tmp_path, "form")
    assert len(pages) == 2
    assert all(p.stat().st_size > 5_000 for p in pages)


def test_page_one_holds_every_line_and_the_kcv(xor_component: Component, share: Component) -> None:
    for component in (xor_component, share):
        text = flat(page_texts(_form(component))[0])
        for line in encoding.format_lines(component):
            assert flat(line) in text
        assert flat(str(encoding.component_kcv(component))) in text


def test_qr_is_the_component_text(xor_component: Component) -> None:
    from ceremony.record import layout

    payload = encoding.qr_payload(xor_component)
    assert encoding.from_text(payload).value == xor_component.value
    assert len(layout.qr_matrix(payload)) >= 21


def test_nothing_secret_in_the_window_or_the_top_panel(share: Component) -> None:
    data = _form(share)
    lines = encoding.format_lines(share)
    secret = [flat(line) for line in lines if line[:2].isdigit() or line.startswith("SUM")]
    runs = _positions(data, 0)
    secret_runs = [(t, x, y) for t, x, y in runs if flat(t) in secret]
    assert len(secret_runs) == len(secret)
    top_panel_bottom = forms.HEIGHT - forms.PANEL
    for _, x, y in secret_runs:
        assert x >= forms.SECRET_X  # right of the window, under the tint once folded
        assert forms.HEIGHT - 2 * forms.PANEL < y < top_panel_bottom  # middle third only
    window_runs = [
        t
        for t, x, y in runs
        if forms.WINDOW_X <= x <= forms.WINDOW_X + forms.WINDOW_W
        and forms.HEIGHT - forms.WINDOW_TOP - forms.WINDOW_H <= y <= forms.HEIGHT - forms.WINDOW_TOP
    ]
    shown = flat(" ".join(window_runs))
    assert "SEALEDKEYCOMPONENT" in shown and "TE-40111" in shown
    assert not any(s in shown for s in secret)


def test_page_two_is_the_officers_copy_without_the_secret(
    xor_component: Component, tmp_path: Path
) -> None:
    data = _form(xor_component)
    writer = PdfWriter()
    writer.add_page(PdfReader(io.BytesIO(data)).pages[1])
    out = io.BytesIO()
    writer.write(out)
    page_two = decompressed(out.getvalue(), tmp_path, "page2")
    assert leaks(page_two, [bytes(xor_component.value.reveal())]) == []
    text = page_texts(data)[1]
    assert "Officer's copy" in text and "3.7.8" in text and "Dan Okafor" in text


def test_page_one_does_hold_the_secret(xor_component: Component, tmp_path: Path) -> None:
    # The scanner that clears the record must see a form's component, or it proves nothing.
    plain = decompressed(_form(xor_component), tmp_path, "form")
    assert leaks(plain, [bytes(xor_component.value.reveal())])


def test_watermark_only_in_rehearsal(xor_component: Component) -> None:
    for rehearsal in (True, False):
        for text in page_texts(_form(xor_component, rehearsal=rehearsal)):
            lines = [line.strip() for line in text.splitlines()]
            assert ("REHEARSAL" in lines) is rehearsal


def test_blank_envelope_box_when_not_yet_known(xor_component: Component) -> None:
    text = page_texts(_form(xor_component, envelope=None))[0]
    assert "ENVELOPE SERIAL" in text and "TE-40111" not in text


def test_acknowledgement_and_signature_lines(xor_component: Component) -> None:
    text = flat(page_texts(_form(xor_component))[0])
    assert flat("PCI DSS v4.0 requirement 3.7.8") in text
    assert flat("signature: Dan Okafor, custodian") in text
    assert flat("signature: security officer") in text


def test_secret_looking_names_refused(xor_component: Component) -> None:
    with pytest.raises(RecordError, match="custodian name"):
        forms.component_form_pdf(xor_component, "00112233445566778899", None, True)
    with pytest.raises(RecordError, match="envelope serial"):
        forms.component_form_pdf(xor_component, "Dan", "   ", True)
