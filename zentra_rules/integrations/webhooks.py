"""Standard Webhooks both ways: sign, verify, and deliver over a socket pinned to a checked address."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import ipaddress
import secrets
import socket
import ssl
import urllib.parse
from collections.abc import Mapping
from typing import Any, NamedTuple

from zentra_rules.domain.errors import DeliveryError, InputError, WebhookVerificationError

PREFIX = "whsec_"
USER_AGENT = "Zentra-Webhooks/1"
MAX_ID = 256           # webhook-id characters
MAX_SIGNATURES = 4096  # webhook-signature characters: room for a few rotated keys, not a flood
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; `ipaddress` has no flag for it
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_TEREDO = ipaddress.ip_network("2001::/32")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolved = tuple[socket.AddressFamily, tuple[Any, ...]]  # a family and a sockaddr from getaddrinfo


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 24 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        # never echo the secret: it would end up in logs and run traces
        raise InputError("the webhook secret is not valid: expected `whsec_` followed by base64") from None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,` + base64 of HMAC-SHA256 over `{msg_id}.{timestamp}.{body}`."""
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers that carry a signed message."""
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, body), "content-type": "application/json"}


def _header(found: Mapping[str, str], name: str, limit: int) -> str:
    matches = [value for key, value in found.items() if isinstance(key, str) and key.lower() == name]
    if not matches:
        raise WebhookVerificationError(f"missing header {name}")
    if len(matches) > 1:
        raise WebhookVerificationError(f"header {name} is given {len(matches)} times")
    value = matches[0]
    if not isinstance(value, str) or not value.isascii() or not value.isprintable():
        raise WebhookVerificationError(f"header {name} must be printable ASCII")
    if not value or len(value) > limit:
        raise WebhookVerificationError(f"header {name} must hold 1 to {limit} characters")
    return value


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance: int = 300) -> str:
    """The message's webhook-id when its signature and timestamp hold; WebhookVerificationError if not."""
    if not isinstance(body, bytes | bytearray):
        raise WebhookVerificationError("the body must be bytes")
    msg_id = _header(headers, "webhook-id", MAX_ID)
    stamp = _header(headers, "webhook-timestamp", 12)
    signatures = _header(headers, "webhook-signature", MAX_SIGNATURES)
    if not (stamp.isascii() and stamp.isdigit()):  # int() would also take "+1", "1_0" and "²"
        raise WebhookVerificationError("header webhook-timestamp must be unix seconds (digits only)")
    timestamp = int(stamp)
    if not abs(now - timestamp) <= tolerance:  # written so that a NaN clock refuses too
        when = "in the future" if timestamp > now else "too old"
        raise WebhookVerificationError(f"webhook-timestamp {timestamp} is {when} "
                                       f"(more than {tolerance} s from now)")
    try:
        key = _key(secret)
    except InputError as exc:
        raise WebhookVerificationError(str(exc)) from None
    expected = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + bytes(body), hashlib.sha256).digest()
    seen_v1 = malformed = 0
    for item in signatures.split(" "):
        version, _, encoded = item.partition(",")
        if version != "v1":
            continue  # other schemes (v1a, future ones) may ride along; they are not ours to judge
        seen_v1 += 1
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            malformed += 1
            continue
        if hmac.compare_digest(candidate, expected):
            return msg_id
    if not seen_v1:
        raise WebhookVerificationError("header webhook-signature holds no v1 signature")
    if malformed == seen_v1:
        raise WebhookVerificationError("header webhook-signature: the v1 signature is not valid base64")
    raise WebhookVerificationError("no webhook signature matches (wrong secret or altered body)")


class Target(NamedTuple):
    """A URL that passed the checks, with the addresses it resolved to (all of them allowed)."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: list[Resolved]


def refusal(ip: Address) -> str | None:
    """Why an outbound connection to `ip` is refused, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _TEREDO:
            return "a Teredo tunnel address"
        if ip in _NAT64_LOCAL:
            return "a local-use NAT64 address"
        # these wrap an IPv4 address the packet really goes to: judge that one
        inner = ip.ipv4_mapped or ip.sixtofour or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if inner is not None:
            why = refusal(inner)
            return None if why is None else f"{why} (embedded as {inner})"
    checks = [("loopback", ip.is_loopback), ("unspecified", ip.is_unspecified),
              ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
              ("shared (carrier-grade NAT)", ip in _SHARED), ("private", ip.is_private),
              ("reserved", ip.is_reserved), ("non-global", not ip.is_global)]
    for name, hit in checks:
        if hit:
            return f"a {name} address"
    return None


def _valid_host(host: str) -> bool:
    if ":" in host:  # only an IPv6 literal has one, and it must parse
        try:
            ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        return True
    return all(c.isalnum() or c in ".-_" for c in host) and not host.startswith((".", "-"))


def check_target(url: str, allow_private: bool = False) -> Target:
    """Parse, resolve and vet an outbound URL; DeliveryError(retryable=False) names the reason."""
    if not url.isascii() or not url.isprintable() or " " in url:
        raise DeliveryError(f"bad webhook URL {url!r}: use plain ASCII with percent-encoding")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise DeliveryError(f"bad webhook URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise DeliveryError(f"bad webhook URL {url!r}: only http and https are allowed")
    host = parts.hostname or ""
    if not host or parts.username is not None or parts.password is not None:
        raise DeliveryError(f"bad webhook URL {url!r}: a host is required and credentials are not allowed")
    if not _valid_host(host):
        raise DeliveryError(f"bad webhook URL {url!r}: {host!r} is not a host name or IP address")
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        # a DNS failure may be passing (SERVFAIL, a record being changed): worth a retry
        raise DeliveryError(f"cannot resolve {host}: {exc}", retryable=True) from None
    addresses: list[Resolved] = []
    for family, _, _, _, sockaddr in found:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        why = refusal(ip)
        if why is not None and not allow_private:
            raise DeliveryError(f"{host} resolves to {ip}, {why}; "
                                "set webhooks.allow_private = true to allow it")
        addresses.append((family, sockaddr))
    if not addresses:
        raise DeliveryError(f"{host} resolves to no IP address", retryable=True)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, addresses)


def _open(target: Target, timeout: float | None) -> socket.socket:
    """A socket to one of the checked addresses; the name is never resolved again (no DNS rebinding)."""
    error: OSError = OSError(f"no address to connect to for {target.host}")
    for family, sockaddr in target.addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self.target = target

    def connect(self) -> None:
        self.sock = _open(self.target, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext):
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self.target, self.tls = target, context

    def connect(self) -> None:
        # SNI and certificate checks use the name from the URL, the TCP connection the checked address
        self.sock = self.tls.wrap_socket(_open(self.target, self.timeout), server_hostname=self.target.host)


def deliver(url: str, secret: str, msg_id: str, body: bytes, timestamp: int, *, timeout: float = 10.0,
            allow_private: bool = False, context: ssl.SSLContext | None = None) -> int:
    """POST a signed message; the 2xx status, or DeliveryError whose `retryable` says what to do."""
    if not msg_id or len(msg_id) > MAX_ID or not msg_id.isascii() or not msg_id.isprintable():
        raise DeliveryError(f"bad webhook id {msg_id[:40]!r}: 1 to {MAX_ID} printable ASCII characters")
    try:
        signed = headers(secret, msg_id, timestamp, body)
    except InputError as exc:
        raise DeliveryError(str(exc)) from None
    target = check_target(url, allow_private)
    conn: http.client.HTTPConnection = (
        _PinnedHTTPS(target, timeout, context or ssl.create_default_context())
        if target.scheme == "https" else _PinnedHTTP(target, timeout))
    try:
        conn.request("POST", target.path, body=body, headers={**signed, "user-agent": USER_AGENT})
        status = conn.getresponse().status
    except TimeoutError:
        raise DeliveryError(f"{target.host}: no answer within {timeout} s", retryable=True) from None
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryError(f"{target.host}: {type(exc).__name__}: {exc}", retryable=True) from None
    finally:
        conn.close()
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:
        raise DeliveryError(f"{target.host} answered {status}: redirects are not followed; "
                            "register the final URL")
    retryable = status in (408, 429) or 500 <= status < 600
    raise DeliveryError(f"{target.host} answered HTTP {status}", retryable=retryable)
