"""Where uploads may go: collector URLs, origins, and the rule that the token never leaves the
collector's origin."""

from __future__ import annotations

import ipaddress
from urllib.parse import urljoin, urlsplit

from app.core.errors import PraxisError


class EndpointError(PraxisError):
    title = "Collector address not usable"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def check_collector_url(url: str) -> str:
    """The URL as given, or EndpointError: http(s) only, and https for anything but loopback,
    because the device token and the recordings travel with every request."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"{url!r} is not an http(s) address, e.g. https://collector.example/")
    if parts.username or parts.password:
        raise EndpointError("put the token in `praxis enroll --token`, not in the address")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise EndpointError(
            f"{url} is not encrypted; a collector on another machine must use https://"
        )
    return url


def files_endpoint(collector_url: str) -> str:
    """The tus creation endpoint: the collector URL itself when it names a path, else /files/."""
    check_collector_url(collector_url)
    parts = urlsplit(collector_url)
    if parts.path in ("", "/"):
        return urljoin(collector_url, "/files/")
    return collector_url if collector_url.endswith("/") else collector_url + "/"


def same_origin_url(base: str, location: str) -> str:
    """`location` resolved against `base`; EndpointError if it points at another origin, so a
    server (or anyone in its path) cannot send our token elsewhere."""
    resolved = urljoin(base, location)
    if origin(resolved) != origin(base):
        raise EndpointError(
            f"the collector pointed an upload at another server ({origin(resolved)}); "
            "the device token is only ever sent to the collector itself"
        )
    return resolved


def relative_path(url: str) -> str:
    """Path and query of an upload URL: what is stored, so a collector on a new port (the one
    on this computer picks a free port each start) is still asked about the same upload."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
