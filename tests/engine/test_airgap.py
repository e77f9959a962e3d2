"""Air-gap check: readings from a fake sysfs/proc tree, the pure verdict, the override rule."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ceremony.core import journal
from ceremony.core.airgap_rules import (
    AIR_GAP,
    AirGapReadings,
    FindingKind,
    InterfaceReading,
    RfkillReading,
    evaluate,
    require_air_gap,
)
from ceremony.core.rules import Participant, Role, Roster, RuleBreach
from ceremony.engine.airgap import SystemReader, check_air_gap

ROOT = Path(__file__).resolve().parents[2]
ROUTE_HEADER = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
)
LO_ONLY_V6 = (
    "00000000000000000000000000000001 80 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n"
    # The kernel's unreachable default route on lo: RTF_REJECT, never a way out.
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"
)
FIB_LO = """Main:
  +-- 0.0.0.0/0 3 0 5
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
           |-- 127.0.0.1
              /32 host LOCAL
"""


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def iface(root: Path, name: str, state: str, carrier: str | None, kind: int = 1) -> None:
    base = f"sys/class/net/{name}"
    write(root, f"{base}/operstate", state + "\n")
    write(root, f"{base}/type", f"{kind}\n")
    if carrier is not None:
        write(root, f"{base}/carrier", carrier + "\n")


def isolated_tree(root: Path) -> Path:
    iface(root, "lo", "unknown", "1", kind=772)
    iface(root, "eth0", "down", None)
    write(root, "proc/net/route", ROUTE_HEADER)
    write(root, "proc/net/ipv6_route", LO_ONLY_V6)
    write(root, "proc/net/if_inet6", "00000000000000000000000000000001 01 80 10 80       lo\n")
    write(root, "proc/net/fib_trie", FIB_LO)
    return root


def kinds(root: Path) -> list[FindingKind]:
    return [f.kind for f in check_air_gap(SystemReader(root)).findings]


def test_isolated_machine(tmp_path: Path) -> None:
    verdict = check_air_gap(SystemReader(isolated_tree(tmp_path)))
    assert verdict.isolated, verdict.findings
    assert verdict.interfaces == ("eth0", "lo")
    assert "no network interface other than loopback" in verdict.lines()[0]


def test_interface_up_with_carrier(tmp_path: Path) -> None:
    iface(isolated_tree(tmp_path), "eth0", "up", "1")
    assert kinds(tmp_path) == [FindingKind.INTERFACE_UP, FindingKind.CARRIER]


def test_unknown_operstate_counts_as_up(tmp_path: Path) -> None:
    iface(isolated_tree(tmp_path), "tun0", "unknown", None, kind=65534)
    assert kinds(tmp_path) == [FindingKind.INTERFACE_UP]


def test_addresses_and_default_routes(tmp_path: Path) -> None:
    root = isolated_tree(tmp_path)
    write(
        root,
        "proc/net/route",
        ROUTE_HEADER
        + "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        + "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        + "eth1\t000A0A0A\t00000000\t0000\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",  # not RTF_UP
    )
    write(
        root,
        "proc/net/ipv6_route",
        LO_ONLY_V6 + "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
        "fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n",
    )
    write(
        root,
        "proc/net/if_inet6",
        "00000000000000000000000000000001 01 80 10 80       lo\n"
        "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n",
    )
    write(
        root,
        "proc/net/fib_trie",
        FIB_LO + "           |-- 192.0.2.2\n              /32 host LOCAL\n",
    )
    verdict = check_air_gap(SystemReader(root))
    described = [f.describe() for f in verdict.findings]
    assert described == [
        "eth0: has address fe80::fc:ff:fe00:1",
        "IPv4: has address 192.0.2.2",
        "eth0: default route 0.0.0.0/0 via 192.0.2.1",
        "eth0: route to 192.0.2.0/24",
        "eth0: default route ::/0 via fd00::1",
    ]


def test_radios(tmp_path: Path) -> None:
    root = isolated_tree(tmp_path)
    iface(root, "wlan0", "down", None)
    (root / "sys/class/net/wlan0/phy80211").mkdir()
    (root / "sys/class/bluetooth/hci0").mkdir(parents=True)
    # No rfkill at all: neither radio can be shown to be blocked.
    assert kinds(root) == [FindingKind.RADIO, FindingKind.RADIO]
    for name, kind, soft in (("rfkill0", "wlan", "1"), ("rfkill1", "bluetooth", "0")):
        write(root, f"sys/class/rfkill/{name}/type", kind)
        write(root, f"sys/class/rfkill/{name}/soft", soft)
        write(root, f"sys/class/rfkill/{name}/hard", "0")
    verdict = check_air_gap(SystemReader(root))
    assert [f.describe() for f in verdict.findings] == [
        "rfkill1: bluetooth radio is not blocked by rfkill"
    ]
    write(root, "sys/class/rfkill/rfkill1/hard", "1")
    assert check_air_gap(SystemReader(root)).isolated


def test_unreadable_sources_fail_closed(tmp_path: Path) -> None:
    root = isolated_tree(tmp_path)
    (root / "proc/net/route").unlink()
    (root / "sys/class/net/eth0/operstate").unlink()
    assert kinds(root) == [FindingKind.UNREADABLE, FindingKind.UNREADABLE]
    write(root, "proc/net/route", ROUTE_HEADER + "garbage\n")
    assert FindingKind.UNREADABLE in kinds(root)


def test_interface_list_comes_from_the_injected_source(tmp_path: Path) -> None:
    root = isolated_tree(tmp_path)
    iface(root, "eth1", "up", "1")  # in sysfs, but not in this namespace's list
    reader = SystemReader(root, interface_names=lambda: ["lo", "eth0"])
    assert check_air_gap(reader).isolated


def test_verdict_goes_into_the_journal(tmp_path: Path) -> None:
    root = isolated_tree(tmp_path)
    iface(root, "eth0", "up", "1")
    verdict = check_air_gap(SystemReader(root))
    genesis = journal.genesis("c1", journal.FileDigest.of(b"f"), datetime.now(UTC))
    entry = journal.next_entry(genesis, "air_gap", datetime.now(UTC), (), verdict.journal_data())
    assert entry.data["isolated"] is False
    assert entry.data["findings"][0] == {  # type: ignore[index]
        "kind": "interface-up",
        "subject": "eth0",
        "detail": "interface is up",
    }


OFFICERS = Roster(
    [
        Participant("so1", "A", Role.SECURITY_OFFICER, "a"),
        Participant("so2", "B", Role.SECURITY_OFFICER, "b"),
        Participant("wit", "C", Role.WITNESS, "c"),
    ]
)
NETWORKED = evaluate(AirGapReadings(interfaces=(InterfaceReading("eth0", "up", True, 1),)))


def test_production_refuses_a_networked_machine() -> None:
    with pytest.raises(RuleBreach, match="eth0: interface is up") as caught:
        require_air_gap(NETWORKED, rehearsal=False)
    assert caught.value.rule == AIR_GAP


def test_rehearsal_and_isolated_machines_pass() -> None:
    require_air_gap(NETWORKED, rehearsal=True)
    require_air_gap(evaluate(AirGapReadings()), rehearsal=False)


def test_override_needs_two_distinct_officers() -> None:
    require_air_gap(NETWORKED, rehearsal=False, overriders=["so1", "so2"], roster=OFFICERS)
    for overriders in (["so1"], ["so1", "so1"], ["so1", "wit"]):
        with pytest.raises(RuleBreach):
            require_air_gap(NETWORKED, rehearsal=False, overriders=overriders, roster=OFFICERS)


def test_rfkill_unreadable_state_is_not_blocked() -> None:
    verdict = evaluate(AirGapReadings(rfkill=(RfkillReading("rfkill0", "wlan", None, None),)))
    assert [f.kind for f in verdict.findings] == [FindingKind.RADIO]


_IN_NAMESPACE = """
import json
from ceremony.engine.airgap import check_air_gap
print(json.dumps([[f.kind.value, f.describe()] for f in check_air_gap().findings]))
"""


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="network namespaces are Linux")
@pytest.mark.skipif(not _unshare_works(), reason="unshare -rn is not permitted on this machine")
def test_real_reader_in_an_empty_network_namespace() -> None:
    result = subprocess.run(
        ["unshare", "-rn", sys.executable, "-c", _IN_NAMESPACE],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    findings = json.loads(result.stdout)
    # rfkill is not namespaced: the host's radios may still show; nothing else may.
    assert [f for f in findings if f[0] != FindingKind.RADIO.value] == []
