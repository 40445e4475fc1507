"""Whether the computer runs on battery and whether its network connection is metered, for the
"only on AC power" and "not on metered connections" upload options.

Each answer is True, False or None (the OS does not say). Linux reads /sys/class/power_supply
and asks NetworkManager over the system D-Bus; other systems answer None until they have an
implementation. None means "allowed": an option the OS cannot check must not stop uploads
forever, and `praxis status` says that it could not be checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

POWER_SUPPLY = Path("/sys/class/power_supply")
# NetworkManager's NMMetered: 1 yes, 3 guessed yes; 2 no, 4 guessed no; 0 unknown.
_METERED_YES = (1, 3)
_METERED_NO = (2, 4)


class Connectivity:
    def on_battery(self) -> bool | None:
        return None

    def metered(self) -> bool | None:
        return None


def read_on_battery(root: Path = POWER_SUPPLY) -> bool | None:
    """On battery when no mains adapter is online and a battery is present."""
    try:
        supplies = list(root.iterdir())
    except OSError:
        return None
    mains_online: bool | None = None
    battery = False
    for supply in supplies:
        kind = _read(supply / "type")
        if kind == "Mains" or kind == "USB":
            online = _read(supply / "online")
            if online is not None:
                mains_online = bool(mains_online) or online == "1"
        elif kind == "Battery" and _read(supply / "scope") != "Device":
            battery = True  # not a mouse's or headset's battery
    if mains_online is None:
        return False if not battery else None
    return not mains_online


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def metered_from_nm(value: int | None) -> bool | None:
    if value in _METERED_YES:
        return True
    if value in _METERED_NO:
        return False
    return None


def read_nm_metered(timeout: float = 2.0) -> int | None:
    """NetworkManager's Metered property, or None without a system bus or NetworkManager."""
    try:
        from jeepney import DBusAddress, Properties
        from jeepney.io.blocking import open_dbus_connection
    except ImportError:
        return None
    try:
        with open_dbus_connection(bus="SYSTEM") as conn:
            address = DBusAddress(
                "/org/freedesktop/NetworkManager",
                bus_name="org.freedesktop.NetworkManager",
                interface="org.freedesktop.NetworkManager",
            )
            reply = conn.send_and_get_reply(Properties(address).get("Metered"), timeout=timeout)
    except Exception:  # no bus, no NetworkManager, a refusal: the OS does not say
        return None
    try:
        signature, value = reply.body[0]
        return int(value) if signature == "u" else None
    except (IndexError, TypeError, ValueError):
        return None


class LinuxConnectivity(Connectivity):
    def on_battery(self) -> bool | None:
        return read_on_battery()

    def metered(self) -> bool | None:
        return metered_from_nm(read_nm_metered())


def get_connectivity(name: str | None = None) -> Connectivity:
    name = name or sys.platform
    if name.startswith("linux"):
        return LinuxConnectivity()
    return Connectivity()
