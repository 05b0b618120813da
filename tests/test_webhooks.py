"""Standard Webhooks: the published test vector, a verifier that only ever says no, real deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zentra_rules.domain.errors import DeliveryError, WebhookVerificationError
from zentra_rules.integrations.webhooks import (
    Target,
    _PinnedHTTP,
    check_target,
    deliver,
    headers,
    new_secret,
    refusal,
    sign,
    verify,
)

from .services import require_tool

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
STAMP = 1614265330
BODY = b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def good_headers() -> dict[str, str]:
    return {"webhook-id": MSG_ID, "webhook-timestamp": str(STAMP), "webhook-signature": EXPECTED}


# --- signing and verifying ------------------------------------------------------------------------

def test_standard_webhooks_vector() -> None:
    assert sign(SECRET, MSG_ID, STAMP, BODY) == EXPECTED
    assert sign(SECRET.removeprefix("whsec_"), MSG_ID, STAMP, BODY) == EXPECTED
    assert verify(SECRET, good_headers(), BODY, now=STAMP + 10) == MSG_ID


def test_headers_and_secrets() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
    assert secret != new_secret()
    sent = headers(secret, "msg_1", 1700000000, b"{}")
    assert sent["content-type"] == "application/json" and sent["webhook-timestamp"] == "1700000000"
    upper = {k.upper(): v for k, v in sent.items()}  # header names are case-insensitive
    assert verify(secret, upper, b"{}", now=1700000000) == "msg_1"


def test_several_signatures_any_v1_matches() -> None:
    h = good_headers()
    h["webhook-signature"] = "v1a,abc v1,AAAA v1,!!! " + EXPECTED + " v2,zzz"
    assert verify(SECRET, h, BODY, now=STAMP) == MSG_ID


def _rejects(secret: str, h: dict[str, Any], body: bytes, match: str, now: float = STAMP) -> None:
    with pytest.raises(WebhookVerificationError, match=match):
        verify(secret, h, body, now=now)


def test_rejects_tampering_wrong_secret_and_clock() -> None:
    _rejects(SECRET, good_headers(), BODY + b" ", "no webhook signature matches")
    _rejects(new_secret(), good_headers(), BODY, "no webhook signature matches")
    _rejects(SECRET, good_headers(), BODY, "too old", now=STAMP + 301)
    _rejects(SECRET, good_headers(), BODY, "in the future", now=STAMP - 301)
    _rejects(SECRET, good_headers(), BODY, "too old", now=float("nan"))
    assert verify(SECRET, good_headers(), BODY, now=STAMP + 300) == MSG_ID
    _rejects("whsec_not base64!", good_headers(), BODY, "secret is not valid")


MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({}, "missing header webhook-id"),
    ({"webhook-id": MSG_ID, "webhook-timestamp": str(STAMP)}, "missing header webhook-signature"),
    ({**good_headers(), "Webhook-Id": "x"}, "given 2 times"),
    ({**good_headers(), "webhook-timestamp": "abc"}, "digits only"),
    ({**good_headers(), "webhook-timestamp": "+1614265330"}, "digits only"),
    ({**good_headers(), "webhook-timestamp": " 1614265330"}, "digits only"),
    ({**good_headers(), "webhook-timestamp": "16_1426_5330"}, "digits only"),
    ({**good_headers(), "webhook-timestamp": "١٦١٤٢٦٥٣٣٠"}, "printable ASCII"),
    ({**good_headers(), "webhook-timestamp": "9" * 400}, "1 to 12 characters"),
    ({**good_headers(), "webhook-timestamp": ""}, "1 to 12 characters"),
    ({**good_headers(), "webhook-id": "é"}, "printable ASCII"),
    ({**good_headers(), "webhook-id": "a\r\nb"}, "printable ASCII"),
    ({**good_headers(), "webhook-id": "x" * 5000}, "1 to 256 characters"),
    ({**good_headers(), "webhook-id": 7}, "printable ASCII"),
    ({**good_headers(), "webhook-signature": "v1,ü"}, "printable ASCII"),
    ({**good_headers(), "webhook-signature": "v1,!!notbase64"}, "not valid base64"),
    ({**good_headers(), "webhook-signature": "v1,"}, "no webhook signature matches"),
    ({**good_headers(), "webhook-signature": "v2," + EXPECTED[3:]}, "no v1 signature"),
    ({**good_headers(), "webhook-signature": EXPECTED[3:]}, "no v1 signature"),
    ({**good_headers(), "webhook-signature": "   "}, "no v1 signature"),
    ({**good_headers(), "webhook-signature": (EXPECTED + " ") * 200}, "1 to 4096 characters"),
]


@pytest.mark.parametrize(("h", "match"), MALFORMED)
def test_rejects_malformed_headers(h: dict[str, Any], match: str) -> None:
    _rejects(SECRET, h, BODY, match)


NAMES = st.sampled_from(["webhook-id", "Webhook-Id", "webhook-timestamp", "WEBHOOK-TIMESTAMP",
                         "webhook-signature", "Webhook-Signature"]) | st.text(max_size=20)
VALUES = (st.text(max_size=300) | st.sampled_from([MSG_ID, str(STAMP), EXPECTED, ""])
          | st.builds(lambda parts: " ".join(parts), st.lists(st.sampled_from(
              ["v1," + EXPECTED[3:], "v1,", "v1,====", "v2,x", "v1,AAAA", "v1a,zz", ","]), max_size=5))
          | st.integers() | st.none() | st.binary(max_size=20))


@settings(max_examples=300, deadline=None)
@given(extra=st.dictionaries(NAMES, VALUES, max_size=6), keep=st.booleans(), body=st.binary(max_size=64),
       now=st.integers(0, 2**40) | st.floats(allow_nan=True),
       secret=st.sampled_from([SECRET, "x", "", "whsec_"]))
def test_verify_only_says_yes_or_webhookverificationerror(
        extra: dict[Any, Any], keep: bool, body: bytes, now: float, secret: str) -> None:
    h: dict[Any, Any] = {**(good_headers() if keep else {}), **extra}
    try:
        verify(secret, h, body, now=now)
    except WebhookVerificationError as exc:
        assert "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in str(exc)


@settings(max_examples=300, deadline=None)
@given(msg_id=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=256),
       stamp=st.integers(0, 10**11), body=st.binary(max_size=512))
def test_what_is_signed_verifies(msg_id: str, stamp: int, body: bytes) -> None:
    assert verify(SECRET, headers(SECRET, msg_id, stamp, body), body, now=stamp) == msg_id


# --- a real receiver ------------------------------------------------------------------------------

class Receiver(ThreadingHTTPServer):
    daemon_threads = False  # so that server_close() waits for every handler

    def __init__(self, status: int, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.status, self.delay = status, delay
        self.connections = 0
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.release = threading.Event()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the timeout test hangs up on a sleeping handler: its broken pipe is expected

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.server.release.wait(self.server.delay)
        self.send_response(self.server.status)
        if 300 <= self.server.status < 400:
            self.send_header("location", self.server.url + "/elsewhere")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[tuple[Receiver, threading.Thread]] = []

    def start(status: int = 200, delay: float = 0.0, tls: ssl.SSLContext | None = None) -> Receiver:
        server = Receiver(status, delay)
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def test_delivery_is_signed(receiver: Callable[..., Receiver]) -> None:
    server = receiver(204)
    secret = new_secret()
    status = deliver(server.url + "/hook?x=1", secret, "msg_42", b'{"a": 1}', 1700000000, allow_private=True)
    assert status == 204
    [(path, got, body)] = server.requests
    assert (path, body) == ("/hook?x=1", b'{"a": 1}')
    assert got["webhook-id"] == "msg_42" and got["webhook-timestamp"] == "1700000000"
    assert got["user-agent"] == "Zentra-Webhooks/1" and got["content-type"] == "application/json"
    assert got["host"] == f"127.0.0.1:{server.server_address[1]}"
    # recomputed here by hand, not with sign()
    mac = hmac.new(base64.b64decode(secret[6:]), b'msg_42.1700000000.{"a": 1}', hashlib.sha256).digest()
    assert got["webhook-signature"] == "v1," + base64.b64encode(mac).decode()


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (408, True),
                                                   (400, False), (404, False), (410, False)])
def test_failing_status(receiver: Callable[..., Receiver], status: int, retryable: bool) -> None:
    server = receiver(status)
    with pytest.raises(DeliveryError, match=f"HTTP {status}") as err:
        deliver(server.url, SECRET, "msg_1", b"{}", STAMP, allow_private=True)
    assert err.value.retryable is retryable


def test_redirect_is_not_followed(receiver: Callable[..., Receiver]) -> None:
    server = receiver(302)
    with pytest.raises(DeliveryError, match="redirects are not followed") as err:
        deliver(server.url + "/first", SECRET, "msg_1", b"{}", STAMP, allow_private=True)
    assert err.value.retryable is False
    assert [path for path, _, _ in server.requests] == ["/first"] and server.connections == 1


def test_slow_receiver_times_out(receiver: Callable[..., Receiver]) -> None:
    server = receiver(200, delay=5.0)
    with pytest.raises(DeliveryError, match=r"no answer within 0\.3 s") as err:
        deliver(server.url, SECRET, "msg_1", b"{}", STAMP, timeout=0.3, allow_private=True)
    assert err.value.retryable is True


def test_closed_port_is_retryable(receiver: Callable[..., Receiver]) -> None:
    server = receiver()
    url = server.url
    server.shutdown()
    server.server_close()
    with pytest.raises(DeliveryError, match="ConnectionRefusedError") as err:
        deliver(url, SECRET, "msg_1", b"{}", STAMP, allow_private=True)
    assert err.value.retryable is True


def test_bad_secret_and_id_are_not_echoed() -> None:
    with pytest.raises(DeliveryError, match="secret is not valid") as err:
        deliver("http://example.invalid/", "whsec_sup3r$ecret", "msg_1", b"{}", STAMP)
    assert "sup3r" not in str(err.value) and err.value.retryable is False
    with pytest.raises(DeliveryError, match="bad webhook id"):
        deliver("http://example.invalid/", SECRET, "a\r\nInjected: 1", b"{}", STAMP)


@pytest.fixture
def tls_files(tmp_path: Path) -> Callable[[str], tuple[ssl.SSLContext, ssl.SSLContext]]:
    require_tool("openssl")   # to make a test certificate

    def make(name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
        cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
                        "-addext", f"subjectAltName=DNS:{name}"], check=True, capture_output=True)
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(cert, key)
        return server, ssl.create_default_context(cafile=str(cert))
    return make


def test_https_checks_the_certificate_against_the_url_name(
        receiver: Callable[..., Receiver], tls_files: Callable[[str], tuple[ssl.SSLContext, ssl.SSLContext]],
) -> None:
    server_ctx, client_ctx = tls_files("localhost")
    server = receiver(200, tls=server_ctx)
    url = f"https://localhost:{server.server_address[1]}/tls"
    assert deliver(url, SECRET, "msg_1", b"{}", STAMP, allow_private=True, context=client_ctx) == 200
    assert server.requests[0][1]["host"] == f"localhost:{server.server_address[1]}"
    _, other_client = tls_files("other.example")
    with pytest.raises(DeliveryError, match="SSLCertVerificationError"):
        deliver(url, SECRET, "msg_2", b"{}", STAMP, allow_private=True, context=other_client)
    assert len(server.requests) == 1


def test_connection_goes_to_the_checked_address_not_a_new_lookup(receiver: Callable[..., Receiver]) -> None:
    server = receiver(200)
    port = server.server_address[1]
    # `.invalid` never resolves: the request can only arrive if the checked address is used as is
    target = Target("http", "rebind.invalid", port, "/", [(socket.AF_INET, ("127.0.0.1", port))])
    conn = _PinnedHTTP(target, 5.0)
    try:
        conn.request("POST", "/", body=b"{}")
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    assert server.requests[0][1]["host"] == f"rebind.invalid:{port}"


# --- SSRF -----------------------------------------------------------------------------------------

LOOPBACK_FORMS = ["http://127.0.0.1:{port}/", "http://0x7f000001:{port}/", "http://127.1:{port}/",
                  "http://2130706433:{port}/", "http://017700000001:{port}/", "http://localhost:{port}/",
                  "http://[::ffff:127.0.0.1]:{port}/", "http://LOCALHOST:{port}/x?y=1"]
INTERNAL = ["http://[64:ff9b::a9fe:a9fe]/", "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/", "http://[2002:7f00:1::]/", "http://100.64.0.1/", "http://0.0.0.0/",
            "http://[::]/", "http://224.0.0.1/", "http://240.0.0.1/", "http://192.168.1.1/",
            "http://[fe80::1]/", "http://[fd00::1]/", "http://[2001::1]/", "http://[64:ff9b:1::808:808]/",
            "http://[::ffff:a9fe:a9fe]/", "https://172.16.0.1/"]


@pytest.mark.parametrize("form", LOOPBACK_FORMS)
def test_loopback_forms_are_refused_before_connecting(receiver: Callable[..., Receiver], form: str) -> None:
    server = receiver()
    with pytest.raises(DeliveryError, match="allow_private") as err:
        deliver(form.format(port=server.server_address[1]), SECRET, "msg_1", b"{}", STAMP)
    assert err.value.retryable is False
    assert "loopback" in str(err.value)
    assert server.connections == 0 and server.requests == []


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(DeliveryError, match=r"set webhooks\.allow_private = true") as err:
        check_target(url)
    assert err.value.retryable is False


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "not a url",
                                 "", "http://", "http:///path", "http://[::1/", "http://host:99999/",
                                 "http://user:pw@example.com/", "javascript:alert(1)", "http://ex ample/",
                                 "http://exämple.com/", "http://a\r\nb/", "http://ex$ample/",
                                 "http://[not-ip]/", "http://-x/"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(DeliveryError, match="bad webhook URL") as err:
        deliver(url, SECRET, "msg_1", b"{}", STAMP)
    assert err.value.retryable is False


@pytest.mark.parametrize(("address", "why"), [
    ("8.8.8.8", None), ("2606:4700::1111", None), ("::ffff:8.8.8.8", None), ("64:ff9b::808:808", None),
    ("2002:808:808::", None), ("127.0.0.1", "loopback"), ("100.127.255.255", "shared"),
    ("::ffff:10.1.2.3", "private address (embedded as 10.1.2.3)"), ("64:ff9b::7f00:1", "loopback"),
    ("2002:a9fe:a9fe::", "link-local"), ("2001:0:4136:e378::1", "Teredo"), ("64:ff9b:1::1", "NAT64"),
    ("192.0.2.1", "private"), ("198.18.0.1", "private"), ("ff02::1", "multicast"), ("::808:808", "reserved"),
])
def test_refusal_reasons(address: str, why: str | None) -> None:
    reason = refusal(ipaddress.ip_address(address))
    assert reason is None if why is None else why in (reason or "")


def test_allow_private_lets_internal_targets_through() -> None:
    target = check_target("http://127.1:8080/p?q", allow_private=True)
    assert (target.host, target.port, target.path) == ("127.1", 8080, "/p?q")
    assert target.addresses[0][1][0] == "127.0.0.1"
