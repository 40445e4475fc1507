"""A compact tus 1.0.0 client (core, creation, checksum, termination, expiration) on requests.

Every request has a timeout, never follows a redirect, and never sends the token outside the
collector's origin. Failures are sorted into what the worker does about them: retry later,
start a new upload, resend a chunk, set the segment aside, or stop because the token is bad.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core.errors import PraxisError
from app.core.upload.endpoint import EndpointError, same_origin_url

if TYPE_CHECKING:
    # Imported with the first client instead, i.e. when something is sent: requests and
    # urllib3 hold 5 MB that a recorder with nothing approved for upload never needs.
    import requests

TUS_VERSION = "1.0.0"
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0  # also bounds a stalled server between two bytes of its answer
_SENDING = "sending a chunk"
ACK_HEADER = "Praxis-Package-Sha256"  # our collector's acknowledgement of the whole package
TOKEN_REVOKED = (
    "this device's token was revoked or is missing; ask IT to enroll it again "
    "(`praxis enroll --server URL`)"
)


class TusError(PraxisError):
    title = "Upload problem"


class Retryable(TusError):
    """Network trouble, 408, 423, 429 or 5xx: try again later (`retry_after` if the server said)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UploadGone(TusError):
    """404/410 on a stored upload URL: it expired or was removed; start a new upload."""


class ChecksumMismatch(TusError):
    """460: the chunk arrived damaged; send it again."""


class OffsetConflict(TusError):
    """409: the server holds another offset than we sent from; ask it with HEAD."""


class Refused(TusError):
    """Another 4xx: this upload will not succeed by retrying; set it aside with the reason."""


class AuthFailed(TusError):
    """401/403: the device token is missing, wrong or revoked; stop uploading."""

    title = "Upload stopped"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    seconds = header_number(value)
    if seconds is not None:
        return float(seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def header_number(value: str | None) -> int | None:
    """A non-negative whole number from a header, or None: ASCII digits only (str.isdigit
    also accepts "²", which int() refuses)."""
    if value is None or not re.fullmatch(r"[0-9]{1,20}", value.strip()):
        return None
    return int(value)


def encode_metadata(metadata: Mapping[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode('ascii')}"
        for key, value in metadata.items()
    )


@dataclass(frozen=True)
class ServerInfo:
    version: str
    extensions: frozenset[str]
    checksum_algorithms: frozenset[str]
    max_size: int | None

    @property
    def sha256_checksums(self) -> bool:
        return "checksum" in self.extensions and "sha256" in self.checksum_algorithms


@dataclass(frozen=True)
class Head:
    offset: int
    length: int | None
    headers: Mapping[str, str]


class TusClient:
    def __init__(
        self,
        files_url: str,
        token: str | None,
        *,
        ca_bundle: str | None = None,
        session: requests.Session | None = None,
        read_timeout: float = READ_TIMEOUT_S,
    ) -> None:
        self.files_url = files_url
        self._token = token
        self._verify: str | bool = ca_bundle or True
        if session is None:
            import requests

            session = requests.Session()
        self._session = session
        self._session.trust_env = False  # no proxy or .netrc decides where the token goes
        self._timeout = (CONNECT_TIMEOUT_S, read_timeout)

    def close(self) -> None:
        self._session.close()

    # -- requests ----------------------------------------------------------------------
    def _request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        data: bytes | Iterator[bytes] | None = None,
    ) -> requests.Response:
        import requests

        same_origin_url(self.files_url, url)  # the token goes to the collector or nowhere
        all_headers = {"Tus-Resumable": TUS_VERSION, **(headers or {})}
        if self._token:
            all_headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = self._session.request(
                method,
                url,
                headers=all_headers,
                data=data,
                timeout=self._timeout,
                allow_redirects=False,
                verify=self._verify,
            )
        except requests.exceptions.SSLError as exc:
            raise Retryable(
                f"the collector's certificate was not accepted ({_short(exc)})"
            ) from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise Retryable(f"the collector cannot be reached ({_short(exc)})") from exc
        except requests.exceptions.RequestException as exc:
            raise Retryable(f"the request to the collector failed ({_short(exc)})") from exc
        return response

    def _check(self, response: requests.Response, what: str, ok: tuple[int, ...]) -> None:
        code = response.status_code
        if code in ok:
            return
        detail = f"{what}: the collector answered {code} {_body(response)}".rstrip()
        if code in (401, 403):
            raise AuthFailed(TOKEN_REVOKED)
        if code in (404, 410):
            raise UploadGone(detail)
        error = _error_code(response)
        if code == 460:
            if error == "package_checksum_mismatch":  # the whole package: it was discarded
                raise UploadGone(detail)
            raise ChecksumMismatch(detail)
        if code == 409 and error != "segment_conflict" and what == _SENDING:
            raise OffsetConflict(detail)
        if code in (408, 423, 429) or code >= 500:  # 423: the upload is busy (locked) there
            retry = parse_retry_after(response.headers.get("Retry-After"))
            raise Retryable(detail, retry)
        if 300 <= code < 400:
            raise Refused(f"{what}: the collector answered with a redirect ({code}), not followed")
        raise Refused(detail)

    # -- tus operations ----------------------------------------------------------------
    def options(self) -> ServerInfo:
        response = self._request("OPTIONS", self.files_url)
        self._check(response, "asking the collector what it supports", (200, 204))
        headers = response.headers
        max_size = headers.get("Tus-Max-Size")
        return ServerInfo(
            version=headers.get("Tus-Version", ""),
            extensions=_csv(headers.get("Tus-Extension")),
            checksum_algorithms=_csv(headers.get("Tus-Checksum-Algorithm")),
            max_size=header_number(max_size),
        )

    def create(self, length: int, metadata: Mapping[str, str]) -> tuple[str, Head]:
        """A new upload: its absolute URL (on the collector's origin) and where it stands
        (a collector that already stores this package answers with the full offset)."""
        response = self._request(
            "POST",
            self.files_url,
            {"Upload-Length": str(length), "Upload-Metadata": encode_metadata(metadata)},
        )
        self._check(response, "creating the upload", (201,))
        location = response.headers.get("Location")
        if not location:
            raise Retryable("creating the upload: the collector gave no Location")
        try:
            url = same_origin_url(self.files_url, location)
        except EndpointError as exc:
            raise Refused(exc.message) from exc
        offset = header_number(response.headers.get("Upload-Offset"))
        return url, Head(offset or 0, length, response.headers)

    def head(self, url: str) -> Head:
        response = self._request("HEAD", url, {"Cache-Control": "no-store"})
        self._check(response, "asking where the upload stands", (200, 204))
        offset = header_number(response.headers.get("Upload-Offset"))
        if offset is None:
            raise Retryable("the collector gave no Upload-Offset")
        length = header_number(response.headers.get("Upload-Length"))
        return Head(offset, length, response.headers)

    def patch(self, url: str, offset: int, chunk: bytes, *, checksum: bool) -> Head:
        headers = {
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
        }
        if checksum:
            digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode("ascii")
            headers["Upload-Checksum"] = f"sha256 {digest}"
        response = self._request("PATCH", url, headers, chunk)
        self._check(response, _SENDING, (204, 200))
        new_offset = header_number(response.headers.get("Upload-Offset"))
        if new_offset is None:
            raise Retryable("the collector gave no Upload-Offset after a chunk")
        return Head(new_offset, None, response.headers)

    def terminate(self, url: str) -> str:
        """Remove an upload and say how the server confirmed it (204, or 410: already gone).
        A 404 is not a confirmation (the server does not know the upload, so it cannot say
        what it holds): the erasure stays queued and is asked again, failing closed."""
        response = self._request("DELETE", url)
        if response.status_code in (204, 200):
            return "erased"
        if response.status_code == 410:
            return "already erased"
        if response.status_code == 404:
            raise Retryable(f"erasing the upload: the collector does not know it {_body(response)}")
        self._check(response, "erasing the upload", ())
        raise Refused(f"erasing the upload: unexpected answer {response.status_code}")


def _csv(value: str | None) -> frozenset[str]:
    return frozenset(v.strip().lower() for v in (value or "").split(",") if v.strip())


def _error_code(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else None


def _body(response: requests.Response) -> str:
    """The server's own sentence when it gave one (our collector's JSON `message`)."""
    try:
        body = response.json()
        if isinstance(body, dict) and body.get("message"):
            return f"({str(body['message'])[:200]})"
    except ValueError:
        pass
    text = (response.text or "").strip().replace("\n", " ")
    return f"({text[:160]})" if text else ""


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "…"
