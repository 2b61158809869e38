"""The sandbox has no platform secret. It answers only a browser or script on the machine it runs on,
and only requests that prove they come from the playground page itself:

- the socket's address is a loopback address (webhooks/ puts it into X-Steward-Remote-Addr, dropping any
  client-sent value), and no proxy header says the request was relayed from somewhere else;
- the Host is a loopback name (a DNS-rebinding page of another site names its own host);
- an Origin, when the browser sends one, is this very host (`Origin: https://evil.example` is refused),
  and a browser's Sec-Fetch-Site, when sent, says same-origin;
- the body is JSON (`text/plain` and form posts, which any site can make a browser send, are refused);
- X-Steward-CSRF carries a token the playground page handed out (each page load its own, signed with a key
  this process made at start; or STEWARD_PLAYGROUND_TOKEN): another site cannot read the page, so cannot
  forge one.

Everything refused is refused with 403 (core.errors.Forbidden) before the body is read.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from connectors.base import InboundRequest, Payload
from core.errors import Forbidden

REMOTE_ADDR_HEADER = "X-Steward-Remote-Addr"
CSRF_HEADER = "X-Steward-CSRF"
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip", "via")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")


def is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return False


def local_host(host: str) -> bool:
    """`localhost`, `127.0.0.1:8000`, `[::1]:8000` ...: a name only this machine answers to."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[:name.find("]") + 1] if "]" in name else name
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    return name in LOOPBACK_NAMES or is_loopback(name.strip("[]"))


def check_local(headers) -> None:
    """The request was made on this machine and not relayed by a proxy (GETs of the page check this too)."""
    if not is_loopback(headers.get(REMOTE_ADDR_HEADER) or ""):
        raise Forbidden("the sandbox only accepts requests from this machine")
    if any(headers.get(h) for h in PROXY_HEADERS):
        raise Forbidden("the sandbox does not accept requests relayed by a proxy")
    host = headers.get("host") or ""
    if not local_host(host):
        raise Forbidden("the sandbox answers only to a loopback host name")


def check_same_origin(headers) -> None:
    origin = (headers.get("origin") or "").strip()
    if origin:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != (headers.get("host") or "").lower():
            raise Forbidden("cross-site request refused")
    site = (headers.get("sec-fetch-site") or "").strip().lower()
    if site and site not in ("same-origin", "none"):
        raise Forbidden("cross-site request refused")


def issue_token(key: bytes) -> str:
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_mac(key, nonce)}"


def _mac(key: bytes, nonce: str) -> str:
    return hmac.new(key, nonce.encode("utf-8"), hashlib.sha256).hexdigest()[:40]


def token_ok(given: str, fixed: str | None, key: bytes) -> bool:
    if fixed is not None:
        return bool(given) and hmac.compare_digest(given.encode("utf-8", "replace"), fixed.encode("utf-8"))
    nonce, _, mac = given.partition(".")
    return bool(nonce and mac) and hmac.compare_digest(mac.encode("utf-8", "replace"), _mac(key, nonce).encode())


def verify(request: InboundRequest, csrf_token: str | None, csrf_key: bytes) -> Payload:
    headers = request.headers
    check_local(headers)
    check_same_origin(headers)
    content_type = (headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise Forbidden("the sandbox accepts only application/json")
    if not token_ok((headers.get(CSRF_HEADER) or "").strip(), csrf_token, csrf_key):
        raise Forbidden("missing or wrong playground token (X-Steward-CSRF)")
    return Payload(request.body)
