"""A thin `requests` client for DingTalk's two API hosts, with one error taxonomy.

Why not the official `alibabacloud-dingtalk` SDK (evaluated 2.2.65, see README): it can be pointed
at `http://127.0.0.1:PORT`, but it drops the `Retry-After` header, turns a 5xx with a non-JSON body
into a generic "Failed to parse" error without the status code, reports timeouts and refused
connections as the same `UnretryableException` distinguishable only by message text, adds ~88 MB
and eight Tea/darabonba packages, and covers none of the `oapi.` calls Steward still needs
(`topapi/v2/user/get`). dingtalk-sdk 1.3.8 wraps only the `/chat/*` endpoints closed to new apps.
So this module speaks the documented wire format directly:

- api.dingtalk.com: JSON body, header `x-acs-dingtalk-access-token`; errors are HTTP 4xx/5xx with
  `{"code", "message", "requestid"}`.
- oapi.dingtalk.com: `?access_token=`; errors are HTTP 200 with `{"errcode", "errmsg"}`.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import requests

from connectors.base import ConnectorDeps
from connectors.dingtalk.settings import Settings
from core.errors import PermanentDeliveryError, RetryableDeliveryError

log = logging.getLogger(__name__)

RATE = "20/second"                 # per app, per API (standard edition)
TIMEOUT = (3.05, 10)               # connect, read (seconds)
TOKEN_MARGIN = timedelta(minutes=5)

# api.dingtalk.com `code`s and oapi `errcode`s, by what Steward does about them.
THROTTLED_CODES = {
    "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "Forbidden.AccessDenied.QpsLimitForApi",
    "Forbidden.AccessDenied.QpsLimitForAppkey", "Throttling", "Throttling.Api", "Throttling.User",
    "90018", "90002", "90006", "-1",          # -1: 系统繁忙 (busy)
}
QUOTA_CODES = {"Forbidden.AccessDenied.ApiCountLimitForOrg", "90020"}
TOKEN_CODES = {"InvalidAuthentication", "Unauthorized", "40014", "42001", "41001"}
IP_BAN_RETRY = 300.0               # 10,000 calls / 20 s per IP -> a 5-minute ban without error code


class TokenExpired(Exception):
    """Internal signal: refresh the access token and try once more."""


class DingTalkClient:
    def __init__(self, settings: Settings, deps: ConnectorDeps,
                 session: requests.Session | None = None) -> None:
        self.settings = settings
        self.deps = deps
        self.session = session or requests.Session()
        self._token_key = f"dingtalk:token:{settings.app_key}"

    # --- token ---------------------------------------------------------------------------
    def access_token(self, fresh: bool = False) -> str:
        if not fresh:
            cached = self.deps.tokens.get(self._token_key)
            if cached:
                return cached
        try:
            data = self._send("POST", self.settings.api_url + "/v1.0/oauth2/accessToken",
                              "oauth2/accessToken", json={"appKey": self.settings.app_key,
                                                          "appSecret": self.settings.app_secret})
        except TokenExpired as exc:
            raise PermanentDeliveryError(f"dingtalk refused to issue a token ({exc})", code=str(exc)) from None
        token = data.get("accessToken")
        if not isinstance(token, str) or not token:
            raise PermanentDeliveryError("token answer without accessToken", code="no_token")
        lifetime = timedelta(seconds=int(data.get("expireIn") or 7200))
        self.deps.tokens.set(self._token_key, token,
                             self.deps.clock.now() + max(lifetime - TOKEN_MARGIN, lifetime / 2))
        return token

    # --- calls ---------------------------------------------------------------------------
    def api(self, path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        """A call to the new API host (`DINGTALK_API_URL`)."""
        def call(token: str) -> dict[str, Any]:
            return self._send(method, self.settings.api_url + path, path, json=body,
                              headers={"x-acs-dingtalk-access-token": token})
        return self._with_token(call)

    def oapi(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A call to the old API host (`DINGTALK_OAPI_URL`)."""
        def call(token: str) -> dict[str, Any]:
            return self._send("POST", self.settings.oapi_url + path, path, json=body,
                              params={"access_token": token})
        return self._with_token(call)

    def oapi_upload(self, path: str, form: dict[str, str], files: dict[str, tuple[str, bytes]]) -> dict[str, Any]:
        """A multipart upload to the old API host (media/upload)."""
        def call(token: str) -> dict[str, Any]:
            return self._send("POST", self.settings.oapi_url + path, path, params={"access_token": token},
                              data=form, files=files)
        return self._with_token(call)

    def _with_token(self, call) -> dict[str, Any]:
        try:
            return call(self.access_token())
        except TokenExpired:
            self.deps.tokens.delete(self._token_key)
            log.info("dingtalk: access token rejected, refreshing once")
        try:
            return call(self.access_token(fresh=True))
        except TokenExpired:
            raise RetryableDeliveryError("dingtalk rejected a freshly issued access token") from None

    def _send(self, method: str, url: str, api: str, **kwargs: Any) -> dict[str, Any]:
        wait = self.deps.limiter.acquire(f"dingtalk:{self.settings.app_key}:{api}", RATE)
        if wait > 0:
            raise RetryableDeliveryError(f"dingtalk {api}: paced at {RATE}", retry_after=wait)
        try:
            response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.Timeout:
            raise RetryableDeliveryError(f"dingtalk {api}: timeout") from None
        except requests.ConnectionError:
            raise RetryableDeliveryError(f"dingtalk {api}: connection failed") from None
        return _check(response, api)


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return default


def _check(response: requests.Response, api: str) -> dict[str, Any]:
    """The JSON answer, or the core error that says what to do about it."""
    status = response.status_code
    if 200 <= status < 300 and not response.content.strip():
        return {}                                   # some new-API calls answer success with no body
    try:
        data = response.json()
    except ValueError:
        data = None
    if status == 429:
        raise RetryableDeliveryError(f"dingtalk {api}: HTTP 429", retry_after=_retry_after(response, 1.0))
    if not isinstance(data, dict):
        # 5xx pages, gateway errors, and the per-IP ban (an HTML page): all worth retrying later.
        raise RetryableDeliveryError(f"dingtalk {api}: HTTP {status} without JSON",
                                     retry_after=_retry_after(response, IP_BAN_RETRY if status < 500 else 5.0))
    if data.get("status") == 1111:
        raise RetryableDeliveryError(f"dingtalk {api}: IP throttled", retry_after=IP_BAN_RETRY)
    if status >= 400:
        code = str(data.get("code") or f"http_{status}")
    elif data.get("errcode") not in (None, 0, "0"):
        code = str(data.get("errcode"))
    else:
        return data
    message = str(data.get("message") or data.get("errmsg") or "")[:200]
    if code in TOKEN_CODES or (status == 401 and code.startswith("http_")):
        raise TokenExpired(code)
    if code in THROTTLED_CODES or "QpsLimit" in code:
        raise RetryableDeliveryError(f"dingtalk {api}: throttled ({code})",
                                     retry_after=_retry_after(response, 1.0))
    if code in QUOTA_CODES:
        raise PermanentDeliveryError(f"dingtalk {api}: monthly API quota used up ({code})", code="quota")
    if status >= 500:
        raise RetryableDeliveryError(f"dingtalk {api}: HTTP {status} {code}",
                                     retry_after=_retry_after(response, 5.0))
    raise PermanentDeliveryError(f"dingtalk {api}: {code} {message}".strip(), code=code)
