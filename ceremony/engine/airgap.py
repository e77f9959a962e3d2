"""Air-gap readings of this machine with the standard library only; tests use a fake tree."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

from ceremony.core.airgap_rules import (
    AddressReading,
    AirGapReadings,
    AirGapVerdict,
    InterfaceReading,
    RfkillReading,
    RouteReading,
    evaluate,
)

_RTF_UP = 0x0001
_RTF_GATEWAY = 0x0002
_RTF_REJECT = 0x0200


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None


def _flag(path: Path) -> bool | None:
    text = _read(path)
    return None if text is None else text == "1"


def _number(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _system_interfaces() -> list[str]:
    # The kernel's list for this process's network namespace; sysfs may show another one.
    return [name for _, name in socket.if_nameindex()]


class SystemReader:
    """Reads interfaces, addresses, routes and radios below ``root`` (``/`` in production)."""

    def __init__(
        self,
        root: Path | str = "/",
        interface_names: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self.root = Path(root)
        if interface_names is None:
            interface_names = (
                _system_interfaces if self.root == Path("/") else self._sysfs_interfaces
            )
        self._interface_names = interface_names
        self.problems: list[str] = []

    def _sysfs_interfaces(self) -> list[str]:
        try:
            return sorted(os.listdir(self.root / "sys/class/net"))
        except OSError:
            self.problems.append("cannot list /sys/class/net")
            return []

    def read(self) -> AirGapReadings:
        self.problems = []
        try:
            names = list(self._interface_names())
        except OSError as ex:
            self.problems.append(f"cannot list network interfaces ({ex.strerror or ex})")
            names = []
        return AirGapReadings(
            interfaces=tuple(self._interface(name) for name in names),
            addresses=tuple(self._ipv6_addresses() + self._ipv4_addresses()),
            routes=tuple(self._ipv4_routes() + self._ipv6_routes()),
            rfkill=tuple(self._rfkill()),
            bluetooth=tuple(self._listing("sys/class/bluetooth")),
            problems=tuple(self.problems),
        )

    def _interface(self, name: str) -> InterfaceReading:
        folder = self.root / "sys/class/net" / name
        return InterfaceReading(
            name=name,
            operstate=_read(folder / "operstate"),
            carrier=_flag(folder / "carrier"),
            type=_number(folder / "type"),
            wireless=(folder / "wireless").exists() or (folder / "phy80211").exists(),
        )

    def _listing(self, relative: str) -> list[str]:
        try:
            return sorted(os.listdir(self.root / relative))
        except FileNotFoundError:
            return []  # no such subsystem on this machine
        except OSError:
            self.problems.append(f"cannot list /{relative}")
            return []

    def _lines(self, relative: str, required: bool) -> list[str]:
        text = _read(self.root / relative)
        if text is None:
            if required:
                self.problems.append(f"cannot read /{relative}")
            return []
        return text.splitlines()

    def _ipv6_addresses(self) -> list[AddressReading]:
        # Absent when the kernel has IPv6 disabled, which is fine.
        found = []
        for line in self._lines("proc/net/if_inet6", required=False):
            fields = line.split()
            try:
                address = ipaddress.IPv6Address(int(fields[0], 16))
                found.append(AddressReading(str(address), fields[5]))
            except (IndexError, ValueError):
                self.problems.append("/proc/net/if_inet6 has a line this reader cannot parse")
        return found

    def _ipv4_addresses(self) -> list[AddressReading]:
        # fib_trie lists each local address as "|-- a.b.c.d" followed by "/32 host LOCAL".
        found: dict[str, AddressReading] = {}
        previous = ""
        for line in self._lines("proc/net/fib_trie", required=True):
            text = line.strip()
            if text.startswith("/32 host LOCAL") and previous.startswith("|-- "):
                address = previous[4:].strip()
                found.setdefault(address, AddressReading(address))
            previous = text
        return list(found.values())

    def _ipv4_routes(self) -> list[RouteReading]:
        found = []
        for line in self._lines("proc/net/route", required=True)[1:]:
            fields = line.split()
            try:
                iface, destination, gateway, flags = fields[0], fields[1], fields[2], fields[3]
                mask = fields[7]
                if not int(flags, 16) & _RTF_UP:
                    continue
                net = ipaddress.IPv4Address(int.from_bytes(bytes.fromhex(destination), "little"))
                prefix = bin(int.from_bytes(bytes.fromhex(mask), "little")).count("1")
                via = ipaddress.IPv4Address(int.from_bytes(bytes.fromhex(gateway), "little"))
            except (IndexError, ValueError):
                self.problems.append("/proc/net/route has a line this reader cannot parse")
                continue
            gateway_text = str(via) if int(flags, 16) & _RTF_GATEWAY else None
            found.append(RouteReading(iface, f"{net}/{prefix}", gateway_text))
        return found

    def _ipv6_routes(self) -> list[RouteReading]:
        found = []
        for line in self._lines("proc/net/ipv6_route", required=False):
            fields = line.split()
            try:
                destination, prefix, gateway, flags = fields[0], fields[1], fields[4], fields[8]
                iface = fields[9]
                bits = int(flags, 16)
                if not bits & _RTF_UP or bits & _RTF_REJECT:
                    continue
                net = ipaddress.IPv6Address(int(destination, 16))
                via = ipaddress.IPv6Address(int(gateway, 16))
                length = int(prefix, 16)
            except (IndexError, ValueError):
                self.problems.append("/proc/net/ipv6_route has a line this reader cannot parse")
                continue
            found.append(
                RouteReading(iface, f"{net.compressed}/{length}", str(via) if int(via) else None)
            )
        return found

    def _rfkill(self) -> list[RfkillReading]:
        found = []
        for name in self._listing("sys/class/rfkill"):
            folder = self.root / "sys/class/rfkill" / name
            found.append(
                RfkillReading(
                    name=name,
                    type=_read(folder / "type") or "unknown",
                    soft_blocked=_flag(folder / "soft"),
                    hard_blocked=_flag(folder / "hard"),
                )
            )
        return found


def check_air_gap(reader: SystemReader | None = None) -> AirGapVerdict:
    """Read this machine (or what ``reader`` points at) and evaluate it."""
    return evaluate((reader or SystemReader()).read())
