"""Air-gap verdict from network readings: a pure evaluation, its journal data, the override rule."""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from ceremony.core.journal import JournalValue, Text
from ceremony.core.rules import Operation, Roster, RuleBreach, require_dual_control

AIR_GAP = "air gap"
_LOOPBACK_TYPE = 772  # ARPHRD_LOOPBACK in /sys/class/net/*/type


@dataclass(frozen=True)
class InterfaceReading:
    """One interface of this network namespace, as sysfs describes it."""

    name: str
    operstate: str | None = None  # "up", "down", "unknown", ...; None when unreadable
    carrier: bool | None = None  # None when unreadable (a down interface refuses to say)
    type: int | None = None  # ARPHRD_* from /sys/class/net/*/type
    wireless: bool = False

    @property
    def loopback(self) -> bool:
        return self.type == _LOOPBACK_TYPE or (self.type is None and self.name == "lo")


@dataclass(frozen=True)
class AddressReading:
    address: str
    interface: str | None = None  # None when the source does not say (IPv4 from fib_trie)


@dataclass(frozen=True)
class RouteReading:
    interface: str
    destination: str  # "0.0.0.0/0", "::/0", "192.0.2.0/24"
    gateway: str | None = None

    @property
    def default(self) -> bool:
        return self.destination in ("0.0.0.0/0", "::/0")


@dataclass(frozen=True)
class RfkillReading:
    name: str  # rfkill0
    type: str  # wlan, bluetooth, wwan, ...
    soft_blocked: bool | None
    hard_blocked: bool | None

    @property
    def blocked(self) -> bool:
        return bool(self.soft_blocked) or bool(self.hard_blocked)


@dataclass(frozen=True)
class AirGapReadings:
    """Everything the reader saw; ``problems`` names sources it could not read."""

    interfaces: tuple[InterfaceReading, ...] = ()
    addresses: tuple[AddressReading, ...] = ()
    routes: tuple[RouteReading, ...] = ()
    rfkill: tuple[RfkillReading, ...] = ()
    bluetooth: tuple[str, ...] = ()  # hci devices in /sys/class/bluetooth
    problems: tuple[str, ...] = ()


class FindingKind(enum.Enum):
    INTERFACE_UP = "interface-up"
    CARRIER = "carrier"
    ADDRESS = "address"
    DEFAULT_ROUTE = "default-route"
    ROUTE = "route"
    RADIO = "radio-not-blocked"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    subject: str
    detail: str

    def describe(self) -> str:
        return f"{self.subject}: {self.detail}"


@dataclass(frozen=True)
class AirGapVerdict:
    """Isolated when nothing was found; anything unreadable counts against isolation."""

    findings: tuple[Finding, ...]
    interfaces: tuple[str, ...]  # every interface checked, loopback included

    @property
    def isolated(self) -> bool:
        return not self.findings

    def lines(self) -> list[str]:
        if self.isolated:
            return [
                "Air gap: no network interface other than loopback is up or addressed, no route "
                "leaves the machine, and every radio is blocked."
            ]
        return ["Air gap: this machine is NOT isolated:"] + [
            f"  {f.describe()}" for f in self.findings
        ]

    def journal_data(self) -> dict[str, JournalValue]:
        """For the journal: the verdict, each finding, and the interfaces checked."""
        return {
            "isolated": self.isolated,
            "findings": [
                {"kind": Text(f.kind.value), "subject": Text(f.subject), "detail": Text(f.detail)}
                for f in self.findings
            ],
            "interfaces": [Text(name) for name in self.interfaces],
        }


def _is_loopback_address(text: str) -> bool:
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


def evaluate(readings: AirGapReadings) -> AirGapVerdict:
    """The verdict on ``readings``: every way out of the machine is a finding."""
    findings: list[Finding] = []
    loopbacks = {i.name for i in readings.interfaces if i.loopback}
    for iface in readings.interfaces:
        if iface.loopback:
            continue
        if iface.operstate is None:
            findings.append(Finding(FindingKind.UNREADABLE, iface.name, "state unreadable"))
        elif iface.operstate not in ("down", "notpresent", "lowerlayerdown"):
            findings.append(
                Finding(FindingKind.INTERFACE_UP, iface.name, f"interface is {iface.operstate}")
            )
        if iface.carrier:
            findings.append(Finding(FindingKind.CARRIER, iface.name, "a cable or link is present"))
    for address in readings.addresses:
        if address.interface in loopbacks or _is_loopback_address(address.address):
            continue
        findings.append(
            Finding(
                FindingKind.ADDRESS,
                address.interface or "IPv4",
                f"has address {address.address}",
            )
        )
    for route in readings.routes:
        if route.interface in loopbacks:
            continue
        via = f" via {route.gateway}" if route.gateway else ""
        if route.default:
            findings.append(
                Finding(
                    FindingKind.DEFAULT_ROUTE,
                    route.interface,
                    f"default route {route.destination}{via}",
                )
            )
        else:
            findings.append(
                Finding(FindingKind.ROUTE, route.interface, f"route to {route.destination}{via}")
            )
    for device in readings.rfkill:
        if not device.blocked:
            findings.append(
                Finding(
                    FindingKind.RADIO,
                    device.name,
                    f"{device.type} radio is not blocked by rfkill",
                )
            )
    findings += _radios_without_rfkill(readings)
    for problem in readings.problems:
        findings.append(Finding(FindingKind.UNREADABLE, "reader", problem))
    return AirGapVerdict(tuple(findings), tuple(i.name for i in readings.interfaces))


def _radios_without_rfkill(readings: AirGapReadings) -> list[Finding]:
    # A radio that rfkill does not list cannot be shown to be blocked.
    findings = []
    for kind, names in (
        ("wlan", [i.name for i in readings.interfaces if i.wireless]),
        ("bluetooth", list(readings.bluetooth)),
    ):
        if not any(d.type == kind for d in readings.rfkill):
            findings += [
                Finding(FindingKind.RADIO, name, f"{kind} device with no rfkill switch")
                for name in names
            ]
    return findings


def require_air_gap(
    verdict: AirGapVerdict,
    *,
    rehearsal: bool,
    overriders: Sequence[str] = (),
    roster: Roster | None = None,
) -> None:
    """Raise unless the machine is isolated, the run is a rehearsal, or two officers override.

    ``overriders`` are participant ids whose passphrases the engine verified; the engine
    journals the verdict and the override either way.
    """
    if verdict.isolated or rehearsal:
        return
    if not overriders or roster is None:
        raise RuleBreach(
            f"{AIR_GAP}: this machine is networked ("
            + "; ".join(f.describe() for f in verdict.findings[:3])
            + (" ..." if len(verdict.findings) > 3 else "")
            + "); a production ceremony does not start",
            rule=AIR_GAP,
            hint="unplug the network, block every radio (rfkill block all) and check again, or "
            "have two security officers override",
        )
    require_dual_control(
        Operation.AIRGAP_OVERRIDE, overriders, roster, subject="override of the air-gap check"
    )
