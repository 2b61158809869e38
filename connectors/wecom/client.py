"""wechatpy's enterprise WeChatClient, set up for Steward.

- API base URL from WECOM_API_URL, on the instance (`API_BASE_URL`), and `gettoken` fetched
  from that same base (wechatpy 1.8 hard-codes qyapi.weixin.qq.com for it).
- The access token lives in deps.tokens through a wechatpy session-storage adapter, so every
  web process and worker shares one token; its key names the corp and agent, never the secret.
- wechatpy's own refresh-and-retry loop is off (it retries without bound); `WeComApi.call`
  refreshes on 40001/40014/42001 and retries exactly once.
- Errors map to RetryableDeliveryError / PermanentDeliveryError(code=...).
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, Callable, Mapping, Sequence, TypeVar

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from core.clock import Clock
from core.errors import DeliveryError, PermanentDeliveryError, RetryableDeliveryError
from core.ports import RateLimiter, TokenStore

log = logging.getLogger(__name__)

T = TypeVar("T")

TOKEN_ERRORS = frozenset({40001, 40014, 42001})       # invalid credential / invalid token / expired token
# -1 system busy; 45009 API frequency; 45033 concurrency; 6000 data version conflict
RETRYABLE_ERRORS = frozenset({-1, 45009, 45033, 6000})
# Everything else is refused for good. Named here because the core may fall back on them:
# 40003 invalid userid, 60111 userid not found, 46004 user does not exist, 81013 no valid receiver,
# 40050/86003 chat not found, 86001 bad chatid, 86008 group not created by this app,
# 49008 group disbanded, 86101 owner only, 86215 chatid exists, 48002 no API permission,
# 60020 IP not in 可信IP, 50002 member outside the app's visibility.
TOKEN_MARGIN_SECONDS = 300


class TokenStoreSession(SessionStorage):
    """wechatpy session storage over Steward's shared TokenStore (expiry from the injected clock)."""

    def __init__(self, store: TokenStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def get(self, key, default=None):
        value = self._store.get(key)
        return default if value is None else value

    def set(self, key, value, ttl=None):
        if value is None:
            return
        seconds = max(int(ttl or 7200) - TOKEN_MARGIN_SECONDS, 60)
        self._store.set(key, value, self._clock.now() + timedelta(seconds=seconds))

    def delete(self, key):
        self._store.delete(key)


class TokenRefused(WeChatClientException):
    """gettoken itself failed (wrong secret, corp id, or the server is not in 可信IP)."""


class StewardWeChatClient(WeChatClient):
    """WeChatClient whose gettoken uses the configured base URL and whose token lives in the store."""

    def __init__(self, corp_id: str, secret: str, agent_id: int, api_base_url: str,
                 session: SessionStorage, timeout: float) -> None:
        self._agent_id = agent_id
        super().__init__(corp_id, secret, session=session, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base_url

    @property
    def access_token_key(self) -> str:
        return f"wecom:{self.corp_id}:{self._agent_id}:access_token"

    @property
    def access_token(self) -> str:
        return self.session.get(self.access_token_key) or self.fetch_access_token()["access_token"]

    def fetch_access_token(self) -> dict:
        res = self._http.get(
            self.API_BASE_URL + "gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
            timeout=self.timeout,
        )
        try:
            res.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatClientException(None, None, client=self, request=exc.request, response=exc.response)
        result = self._decode_result(res)
        if not isinstance(result, dict) or "access_token" not in result:
            code = result.get("errcode") if isinstance(result, dict) else None
            raise TokenRefused(code, result.get("errmsg") if isinstance(result, dict) else "no JSON")
        if int(result.get("errcode") or 0) != 0:
            raise TokenRefused(int(result["errcode"]), result.get("errmsg"))
        self.session.set(self.access_token_key, result["access_token"], result.get("expires_in", 7200))
        return result


def _retry_after(response: requests.Response | None) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def map_error(exc: Exception, what: str) -> DeliveryError:
    """One WeCom failure -> the core's delivery error."""
    if isinstance(exc, TokenRefused):
        return PermanentDeliveryError(
            f"wecom gettoken refused ({exc.errcode}): check WECOM_CORP_ID, WECOM_SECRET and 可信IP",
            code=f"gettoken:{exc.errcode}")
    if isinstance(exc, WeChatClientException):
        if exc.errcode is None:            # HTTP-level failure
            status = exc.response.status_code if exc.response is not None else None
            if status == 429 or status is None or status >= 500:
                return RetryableDeliveryError(f"wecom {what}: HTTP {status}", retry_after=_retry_after(exc.response))
            return PermanentDeliveryError(f"wecom {what}: HTTP {status}", code=f"http:{status}")
        if exc.errcode in RETRYABLE_ERRORS:
            return RetryableDeliveryError(f"wecom {what}: errcode {exc.errcode}",
                                          retry_after=60.0 if exc.errcode in (45009, 45033) else None)
        if exc.errcode in TOKEN_ERRORS:
            return RetryableDeliveryError(f"wecom {what}: token still refused after a refresh ({exc.errcode})")
        return PermanentDeliveryError(f"wecom {what}: errcode {exc.errcode}", code=str(exc.errcode))
    if isinstance(exc, requests.RequestException):
        return RetryableDeliveryError(f"wecom {what}: {type(exc).__name__}")
    return RetryableDeliveryError(f"wecom {what}: unexpected {type(exc).__name__}")


class WeComApi:
    """Runs one SDK call with pacing, one token refresh and error mapping."""

    def __init__(self, client: StewardWeChatClient, limiter: RateLimiter) -> None:
        self.client = client
        self._limiter = limiter

    def pace(self, *slots: tuple[str, str]) -> None:
        """Take a slot of each (key, rate); raise RetryableDeliveryError(retry_after) when one is full."""
        for key, rate in slots:
            wait = self._limiter.acquire(key, rate)
            if wait > 0:
                raise RetryableDeliveryError(f"paced: {key} at {rate}", retry_after=wait)

    def call(self, what: str, op: Callable[[StewardWeChatClient], T]) -> T:
        for attempt in (1, 2):
            try:
                result = op(self.client)
            except WeChatClientException as exc:
                if attempt == 1 and exc.errcode in TOKEN_ERRORS and not isinstance(exc, TokenRefused):
                    log.info("wecom: %s refused the token (%s); refreshing once", what, exc.errcode)
                    self.client.session.delete(self.client.access_token_key)
                    continue
                raise map_error(exc, what) from None
            except requests.RequestException as exc:
                raise map_error(exc, what) from None
            if not isinstance(result, (dict, list, str)):   # wechatpy hands back a Response it could not decode
                raise RetryableDeliveryError(f"wecom {what}: the API answered without JSON")
            return result
        raise AssertionError("unreachable")

    def health(self) -> dict:
        """A fresh gettoken (also refreshes the shared token)."""
        try:
            return self.client.fetch_access_token()
        except (WeChatClientException, requests.RequestException) as exc:
            raise map_error(exc, "gettoken") from None

    # --- the calls the connector makes (paced by the caller) --------------------------------------
    def message_send(self, agent_id: int, user_id: str, body: Mapping[str, Any]) -> dict:
        return self.call("message/send", lambda c: c.message.send(agent_id, user_id, msg=dict(body)))

    def appchat_send(self, chat_id: str, msg_type: str, **content: str) -> dict:
        return self.call("appchat/send", lambda c: c.appchat.send(chat_id, msg_type, **content))

    def appchat_update(self, chat_id: str, **change: list[str]) -> dict:
        return self.call("appchat/update", lambda c: c.appchat.update(chat_id, **change))

    def appchat_get(self, chat_id: str) -> dict:
        return self.call("appchat/get", lambda c: c.appchat.get(chat_id))

    def appchat_create(self, name: str, owner: str, members: Sequence[str], chat_id: str | None) -> dict:
        return self.call("appchat/create", lambda c: c.appchat.create(
            chat_id=chat_id, name=name, owner=owner, user_list=list(members)))

    def user_get(self, user_id: str) -> dict:
        return self.call("user/get", lambda c: c.user.get(user_id))

    def department_get(self, department_id: int) -> dict:
        return self.call("department/get", lambda c: c.get("department/get", params={"id": department_id}))


def post_response_url(session: requests.Session, url: str, markdown: str) -> bool | None:
    """POST a markdown answer to an AI bot response_url (doc 101138). True: WeCom took it; False: it
    refused; None: the answer got lost after the request left (it may have been posted). Raises
    requests.ConnectionError when nothing reached WeCom."""
    body = {"msgtype": "markdown", "markdown": {"content": markdown}}
    try:
        response = session.post(url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                headers={"Content-Type": "application/json"}, timeout=10)
    except requests.ConnectionError:
        raise
    except requests.RequestException:
        return None
    try:
        result = response.json()
    except ValueError:
        result = {}
    return response.status_code == 200 and isinstance(result, dict) and result.get("errcode") == 0
