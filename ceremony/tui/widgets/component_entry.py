"""Component entry: one input per line, each checked live, or the whole text from a QR scanner.

The header (which key, which component) comes from the ceremony, not from the custodian; the
custodian types the value lines and the SUM line from their paper. Each line is checked with
``encoding.check_line`` / ``check_sum_line`` as it is typed, and flagged at that line. A barcode
scanner types the QR payload (the whole component text, newlines as Enter) into the first field;
the field recognises the format name, collects the lines up to the SUM line and the widget parses
them with ``encoding.from_text``. A paste of the whole text works the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Key, Paste
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static

from ceremony.core import encoding, kcv
from ceremony.core.component import Component, KeyAlgorithm, KeyIdentity, Scheme
from ceremony.errors import CeremonyError, ComponentFormatError
from ceremony.tui.messages import ComponentScanned

MAX_SCAN_LINES = 40  # a V1 text has at most 9 header lines, 16 value lines and a SUM line
_SUM = "SUM"


def header_from_lines(lines: Sequence[str]) -> encoding.ComponentHeader:
    """The ComponentHeader whose structural header lines (no KCV) are ``lines``.

    The engine hands these lines to the entry form; the round trip through
    ``encoding.header_lines`` proves they were read exactly.
    """
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    try:
        scheme, threshold, _, count = fields["SCHEME"].split()
        index = int(fields["COMPONENT"].split()[0])
        header = encoding.ComponentHeader(
            KeyIdentity(
                fields["CEREMONY"],
                fields["KEY"],
                KeyAlgorithm(fields["ALGORITHM"]),
                int(fields["KEY-LENGTH"]),
            ),
            Scheme(scheme),
            index,
            int(count),
            int(threshold),
            int(fields["LENGTH"]),
        )
        same = encoding.header_lines(header) == list(lines)
    except (KeyError, ValueError, CeremonyError):
        same = False
    if not same:
        raise ComponentFormatError(
            "the component header given for entry cannot be read", hint="this is a bug"
        )
    return header


def line_name(number: int) -> str:
    return _SUM if number == encoding.SUM_LINE_NUMBER else f"{number:02d}"


def _body(text: str) -> str:
    """A typed line without its optional ``NN:`` / ``SUM:`` prefix (already checked)."""
    return text.partition(":")[2].strip() if ":" in text else text.strip()


def _looks_like_component_text(text: str) -> bool:
    head = text.lstrip().upper()
    name = encoding.FORMAT_NAME
    return head.startswith(name) or (len(head) >= 3 and name.startswith(head))


class LineState(enum.Enum):
    EMPTY = ""
    TYPING = "…"
    OK = "✓ ok"
    WRONG = "✗ wrong"


class ScanInput(Input):
    """An input that also takes a whole component text: pasted, or typed by a barcode scanner.

    A scanner sends each line followed by Enter, faster than anyone types; the lines are
    collected here, in this widget's own message order, so none is lost to a race.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_scan", "Cancel scan", show=False)
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._scan: list[str] | None = None
        self._mask_before_scan = False

    @property
    def scanning(self) -> bool:
        return self._scan is not None

    def _on_paste(self, event: Paste) -> None:
        # prevent_default: Input's own handler (first line only) must not run after this one.
        event.prevent_default()
        if "\n" in event.text.strip() and _looks_like_component_text(event.text):
            event.stop()
            self.value = ""
            self.post_message(ComponentScanned(event.text))
            return
        super()._on_paste(event)

    async def _on_key(self, event: Key) -> None:
        # Enter is taken here, in key order: as a binding it would run only after the
        # scanner's next characters had already landed in this field.
        if event.key != "enter":
            return
        if self._scan is None and not self.value.lstrip().upper().startswith(encoding.FORMAT_NAME):
            return  # an ordinary Enter: Input's binding submits the line
        event.stop()
        event.prevent_default()
        self._scan_line()

    def _scan_line(self) -> None:
        if self._scan is None:
            self._scan = []
            self._mask_before_scan = self.password
            self.password = True  # the lines that follow are digits: keep them off the screen
        self._scan.append(self.value)
        self.value = ""
        done = self._scan[-1].strip().upper().startswith(_SUM)
        if done or len(self._scan) >= MAX_SCAN_LINES:
            text = "\n".join(self._scan)
            self._end_scan()
            self.post_message(ComponentScanned(text))

    def action_cancel_scan(self) -> None:
        if self._scan is not None:
            self._end_scan()
            self.value = ""

    def _end_scan(self) -> None:
        if self._scan is not None:
            self._scan.clear()
        self._scan = None
        self.password = self._mask_before_scan


@dataclass
class _Line:
    number: int  # 1..n for value lines, 0 for the SUM line
    state: LineState = LineState.EMPTY
    problem: str = ""
    hint: str = ""


@dataclass
class _Form:
    lines: list[_Line] = field(default_factory=list)


class ComponentEntry(Widget):
    """The entry form of one component; posts ``Completed`` with the parsed component."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("f3", "toggle_mask", "Mask/unmask")]

    @dataclass
    class Completed(Message):
        """Every line checked and the text parsed; ``component`` holds the value in a Secret."""

        entry: ComponentEntry
        component: Component = field(repr=False)

        @property
        def control(self) -> ComponentEntry:
            return self.entry

    @dataclass
    class Reset(Message):
        """The form was cleared: a completed component, if any, is no longer valid."""

        entry: ComponentEntry

    def __init__(
        self,
        header: encoding.ComponentHeader,
        check: kcv.CheckValue | None = None,
        *,
        masked: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.header = header
        self.check = check
        self.masked = masked
        self._method = encoding.kcv_method_for(header.identity.algorithm, header.value_length)
        numbers = [*range(1, header.line_count + 1), encoding.SUM_LINE_NUMBER]
        self._form = _Form([_Line(n) for n in numbers])
        self._kcv_ok = check is not None
        self.component_kcv: kcv.CheckValue | None = None
        self.problem = ""  # what the form says is wrong now (never holds digits)
        self._kcv_problem = ("", "")

    # ---- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        first = True
        with VerticalScroll(id="entry-lines"):
            if self.check is None:
                with Horizontal(classes="entry-row"):
                    yield Static("KCV:", classes="entry-label")
                    yield self._input("kcv", f"{self._method.label} and the hex digits", first)
                    yield Static("", id="status-kcv", classes="entry-status")
                first = False
            for line in self._form.lines:
                name = line_name(line.number)
                with Horizontal(classes="entry-row"):
                    yield Static(f"{name}:", classes="entry-label")
                    placeholder = self._placeholder(line.number)
                    yield self._input(f"line-{name}", placeholder, first)
                    yield Static("", id=f"status-{name}", classes="entry-status")
                first = False
        with Vertical(id="entry-feedback"):
            yield Static("", id="entry-problem")
            yield Static("", id="entry-result")

    def _placeholder(self, number: int) -> str:
        if number == encoding.SUM_LINE_NUMBER:
            return "XXXX XXXX L"
        groups = " ".join("X" * size for size in self.header.group_sizes(number))
        return f"{groups} L"

    def _input(self, name: str, placeholder: str, first: bool) -> Input:
        kind = ScanInput if first else Input
        widget = kind(
            placeholder=placeholder,
            password=self.masked,
            id=f"input-{name}",
            classes="entry-input",
            select_on_focus=False,
            compact=True,
        )
        return widget

    def on_mount(self) -> None:
        self.first_input().focus()

    # ---- queries ------------------------------------------------------------------------------

    def inputs(self) -> list[Input]:
        return list(self.query(".entry-input").results(Input))

    def first_input(self) -> Input:
        return self.inputs()[0]

    def line_input(self, number: int) -> Input:
        return self.query_one(f"#input-line-{line_name(number)}", Input)

    def line_state(self, number: int) -> LineState:
        return self._line(number).state

    def _line(self, number: int) -> _Line:
        for line in self._form.lines:
            if line.number == number:
                return line
        raise KeyError(number)

    @property
    def complete(self) -> bool:
        return self._kcv_ok and all(line.state is LineState.OK for line in self._form.lines)

    # ---- live checks --------------------------------------------------------------------------

    @on(Input.Changed, ".entry-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        name = (event.input.id or "").removeprefix("input-")
        if name == "kcv":
            self._check_kcv(event.value, final=False)
        else:
            self._check_line(self._number(name), event.value, final=False)
        self._after_change()

    @on(Input.Submitted, ".entry-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = (event.input.id or "").removeprefix("input-")
        if name == "kcv":
            ok = self._check_kcv(event.value, final=True)
        else:
            ok = self._check_line(self._number(name), event.value, final=True)
        self._after_change()
        if ok:
            self._focus_next(event.input)

    def _number(self, name: str) -> int:
        name = name.removeprefix("line-")
        return encoding.SUM_LINE_NUMBER if name == _SUM else int(name)

    def _check_kcv(self, text: str, *, final: bool) -> bool:
        status = self.query_one("#status-kcv", Static)
        self._kcv_ok = False
        self._kcv_problem = ("", "")
        if not text.strip():
            status.update("")
            return False
        if _looks_like_component_text(text):
            status.update(LineState.TYPING.value)  # a scanner is typing the whole text here
            return False
        try:
            self._parse_kcv(text)
        except CeremonyError as ex:
            if final or len(text.split()[-1]) >= 6:
                status.update(LineState.WRONG.value)
                self._kcv_problem = (f"KCV: {ex.message}", ex.hint or "")
                self._show_problem(*self._kcv_problem)
            else:
                status.update(LineState.TYPING.value)
            return False
        self._kcv_ok = True
        status.update(LineState.OK.value)
        self._show_problem("", "")
        return True

    def _parse_kcv(self, text: str) -> kcv.CheckValue:
        words = text.split()
        labelled = text if len(words) > 1 else f"{self._method.label} {text}"
        value = kcv.parse_check_value(labelled)
        if value.method is not self._method:
            raise ComponentFormatError(
                f"components of this key carry a {self._method.label} check value",
                hint="copy the KCV line from the paper",
            )
        return value

    def _finished_typing(self, number: int, text: str) -> bool:
        """Whether the custodian has reached the end of the line: judge it now, not before."""
        body = _body(text)
        if not body:
            return False
        last = body.split()[-1]
        if len(last) == 1 and last.upper() in encoding.CHECK_ALPHABET:
            return True
        if number == encoding.SUM_LINE_NUMBER:
            expected = 2 * encoding.SUM_BYTES
        else:
            expected = sum(self.header.group_sizes(number))
        typed = sum(1 for ch in body if not ch.isspace())
        return typed > expected or any(
            not (ch.isspace() or ch in "0123456789abcdefABCDEF") for ch in body
        )

    def _check_line(self, number: int, text: str, *, final: bool) -> bool:
        line = self._line(number)
        line.problem = line.hint = ""
        if not text.strip():
            line.state = LineState.EMPTY
        elif _looks_like_component_text(text) and self._is_first(number):
            line.state = LineState.TYPING  # a scanner is typing the whole text here
        elif not final and not self._finished_typing(number, text):
            line.state = LineState.TYPING
        else:
            try:
                if number == encoding.SUM_LINE_NUMBER:
                    encoding.check_sum_line(self.header, text)
                else:
                    encoding.check_line(self.header, number, text)
            except ComponentFormatError as ex:
                line.state = LineState.WRONG
                line.problem = ex.message
                line.hint = ex.hint or ""
            else:
                line.state = LineState.OK
        self._show_line(line)
        return line.state is LineState.OK

    def _is_first(self, number: int) -> bool:
        return self.first_input() is self.line_input(number)

    def _show_line(self, line: _Line) -> None:
        name = line_name(line.number)
        status = self.query_one(f"#status-{name}", Static)
        status.update(line.state.value)
        status.set_class(line.state is LineState.WRONG, "wrong")
        status.set_class(line.state is LineState.OK, "ok")
        self.query_one(f"#input-line-{name}", Input).set_class(
            line.state is LineState.WRONG, "wrong"
        )
        if line.state is LineState.WRONG:
            self._show_problem(line.problem, line.hint)
        else:
            self._show_problem(*self._first_problem())

    def _first_problem(self) -> tuple[str, str]:
        if self._kcv_problem[0]:
            return self._kcv_problem
        for line in self._form.lines:
            if line.state is LineState.WRONG:
                return line.problem, line.hint
        return "", ""

    def _show_problem(self, problem: str, hint: str) -> None:
        self.problem = problem
        text = f"✗ {problem}" + (f"\n  What to do: {hint}" if hint else "") if problem else ""
        self.query_one("#entry-problem", Static).update(text)

    def _focus_next(self, current: Input) -> None:
        inputs = self.inputs()
        index = inputs.index(current)
        for candidate in inputs[index + 1 :] + inputs[: index + 1]:
            name = (candidate.id or "").removeprefix("input-")
            if name == "kcv" and not self._kcv_ok:
                candidate.focus()
                return
            if name != "kcv" and self.line_state(self._number(name)) is not LineState.OK:
                candidate.focus()
                return

    def _after_change(self) -> None:
        result = self.query_one("#entry-result", Static)
        if not self.complete:
            if self.component_kcv is not None:
                self.component_kcv = None
                self.post_message(self.Reset(self))
            result.update(self._progress())
            return
        if self.component_kcv is None:
            self._assemble()

    def _progress(self) -> str:
        done = sum(1 for line in self._form.lines if line.state is LineState.OK)
        return f"{done} of {len(self._form.lines)} lines accepted"

    # ---- the whole component ------------------------------------------------------------------

    def _kcv(self) -> kcv.CheckValue:
        if self.check is not None:
            return self.check
        return self._parse_kcv(self.query_one("#input-kcv", Input).value)

    def typed_lines(self) -> list[str]:
        """The KCV line and every value line and the SUM line, as typed (they hold digits)."""
        lines = [f"KCV: {self._kcv()}"]
        for line in self._form.lines:
            name = line_name(line.number)
            lines.append(f"{name}: {_body(self.line_input(line.number).value)}")
        return lines

    def _typed_text(self) -> str:
        typed = self.typed_lines()
        return "\n".join([*encoding.header_lines(self.header), *typed]) + "\n"

    def _assemble(self) -> None:
        try:
            component = encoding.from_text(self._typed_text())
        except CeremonyError as ex:
            self._whole_text_failed(ex)
            return
        self._accept(component)

    def _whole_text_failed(self, ex: CeremonyError) -> None:
        number = getattr(ex, "value_line", None)
        if self.check is None and number == encoding.SUM_LINE_NUMBER:
            # Every line passed its own letter check, so the SUM line is read right: what it
            # does not fit is the typed KCV (the one header line the custodian typed).
            self._kcv_ok = False
            self.query_one("#status-kcv", Static).update(LineState.WRONG.value)
            self._kcv_problem = (
                "the KCV typed does not fit the SUM line",
                "compare the KCV with your paper and type it again",
            )
            self._show_problem(*self._kcv_problem)
            self.query_one("#entry-result", Static).update(self._progress())
            return
        if isinstance(number, int) and any(line.number == number for line in self._form.lines):
            line = self._line(number)
            line.state = LineState.WRONG
            line.problem, line.hint = ex.message, ex.hint or ""
            self._show_line(line)
        self._show_problem(ex.message, ex.hint or "")
        self.query_one("#entry-result", Static).update(self._progress())

    def _accept(self, component: Component) -> None:
        try:
            if encoding.ComponentHeader.of(component) != self.header:
                raise ComponentFormatError(
                    f"this paper is component {component.index} of {component.count} of key "
                    f"{component.identity.key_label!r} in ceremony "
                    f"{component.identity.ceremony_id!r}, not the one asked for here",
                    hint="take the paper named on the screen, or ask the security officer",
                )
            own = encoding.component_kcv(component)
            if self.check is not None:
                kcv.require_match(self.check, own, f"component {component.index}")
        except CeremonyError as ex:
            component.value.close()
            self._show_problem(ex.message, ex.hint or "")
            return
        self.component_kcv = own
        self._show_problem("", "")
        self.query_one("#entry-result", Static).update(
            f"Component {component.index} of {component.count} complete.\nIts KCV: {own}\n"
            "Compare it with the KCV on your paper."
        )
        self.add_class("complete")
        self.post_message(self.Completed(self, component))

    @on(ComponentScanned)
    def _scanned(self, event: ComponentScanned) -> None:
        event.stop()
        text, event.text = event.text, ""
        self.reset()
        try:
            component = encoding.from_text(text)
        except CeremonyError as ex:
            self._show_problem(f"scan: {ex.message}", ex.hint or "")
            return
        finally:
            del text
        self._fill(component)

    def _fill(self, component: Component) -> None:
        """Put a scanned component into the lines (masked), so every line shows as checked."""
        if encoding.ComponentHeader.of(component) != self.header:
            self._accept(component)  # refuses it with the message naming what was scanned
            return
        self.set_masked(True)
        lines = encoding.format_lines(component)
        with self.prevent(Input.Changed):
            if self.check is None:
                kcv_line = lines[len(lines) - self.header.line_count - 2]
                self.query_one("#input-kcv", Input).value = _body(kcv_line)
                self._kcv_ok = True
                self.query_one("#status-kcv", Static).update(LineState.OK.value)
            values = lines[len(lines) - self.header.line_count - 1 :]
            for line, text in zip(self._form.lines, values, strict=True):
                self.line_input(line.number).value = _body(text)
                line.state, line.problem, line.hint = LineState.OK, "", ""
                self._show_line(line)
        del lines, values
        self._accept(component)

    # ---- actions ------------------------------------------------------------------------------

    def set_masked(self, masked: bool) -> None:
        self.masked = masked
        for widget in self.inputs():
            widget.password = masked

    def action_toggle_mask(self) -> None:
        self.set_masked(not self.masked)

    def reset(self) -> None:
        """Clear every line (the values typed so far are dropped)."""
        with self.prevent(Input.Changed):
            for widget in self.inputs():
                widget.value = ""
        for line in self._form.lines:
            line.state, line.problem, line.hint = LineState.EMPTY, "", ""
            self._show_line(line)
        self._kcv_ok = self.check is not None
        self._kcv_problem = ("", "")
        if self.check is None:
            self.query_one("#status-kcv", Static).update("")
        self.remove_class("complete")
        self._after_change()
        self._show_problem("", "")
        self.first_input().focus()
