"""slack_sdk WebClient setup and the one place Slack errors become delivery errors.

- Base URL from SLACK_API_URL (GovSlack, proxies, the test fake).
- A 429 is retried in place only when Slack asks for a short wait (<= `max_inline_wait` seconds);
  longer waits go back to the outbox as RetryableDeliveryError(retry_after=Retry-After), so a worker
  never sleeps for a minute holding a delivery.
- No automatic retry on connection errors: a reset after Slack accepted a chat.postMessage would post
  twice (Slack has no idempotency key). The outbox decides when to try again.
- chat.postMessage is paced at about 1 per second per channel (Slack's documented limit) through
  deps.limiter, shared by every worker.
- Slack bot tokens of an internal app do not expire; with token rotation switched on they would, and
  Steward has no refresh token to renew them, so `token_expired` is reported as permanent (README).
"""
from __future__ import annotations

import http.client
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from connectors.base import Delivery
from core.errors import DeliveryError, PermanentDeliveryError, RetryableDeliveryError
from core.ports import RateLimiter

if TYPE_CHECKING:
    from connectors.slack.translate import Call

log = logging.getLogger(__name__)

POST_RATE = "1/second"   # chat.postMessage: "1 message per second per channel" (rate-limits doc)
# Error codes (HTTP 200, ok:false) that mean "try again later" rather than "no".
RETRYABLE_CODES = frozenset({
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
    "request_timeout",
})


def retry_after_seconds(headers: dict | None) -> float | None:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, (list, tuple)) and value else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None


class BriefRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, limited to short waits; anything longer is the outbox's business."""

    def __init__(self, max_inline_wait: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(max_retry_count=1)
        self.max_inline_wait = max_inline_wait
        self._sleep = sleep

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: Optional[HttpResponse] = None, error: Optional[Exception] = None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        wait = retry_after_seconds(response.headers if response else None)
        return wait is not None and wait <= self.max_inline_wait

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: Optional[HttpResponse] = None,
                                 error: Optional[Exception] = None) -> None:
        state.next_attempt_requested = True
        self._sleep(retry_after_seconds(response.headers if response else None) or 0.0)
        state.increment_current_attempt()


def make_web_client(token: str, base_url: str, *, timeout: float, max_inline_wait: float) -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=timeout,
                     retry_handlers=[BriefRateLimitRetryHandler(max_inline_wait)])


def map_error(method: str, exc: Exception) -> DeliveryError:
    """One mapping for every Web API failure: retry later, or give up with Slack's error code."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", 200)
        data = response.data if isinstance(getattr(response, "data", None), dict) else {}
        code = data.get("error") if isinstance(data.get("error"), str) else None
        if status == 429:
            return RetryableDeliveryError(f"slack {method}: rate limited",
                                          retry_after=retry_after_seconds(response.headers))
        if status >= 500 or code in RETRYABLE_CODES:
            return RetryableDeliveryError(f"slack {method}: {f'HTTP {status}' if status >= 500 else code}",
                                          retry_after=retry_after_seconds(response.headers))
        if status != 200:
            return PermanentDeliveryError(f"slack {method}: HTTP {status}", code=f"http_{status}")
        return PermanentDeliveryError(f"slack {method}: {code}", code=code or "unknown_error")
    if isinstance(exc, (OSError, http.client.HTTPException)):  # URLError, timeouts, resets, cut-off replies
        return RetryableDeliveryError(f"slack {method}: {type(exc).__name__}")
    return PermanentDeliveryError(f"slack {method}: {type(exc).__name__}", code="client_error")


class SlackApi:
    """The Web API as the connector uses it: bot calls, admin calls, pacing, error mapping."""

    def __init__(self, bot: WebClient, admin: WebClient | None, limiter: RateLimiter) -> None:
        self.bot = bot
        self.admin = admin
        self._limiter = limiter

    def pace(self, key: str, rate: str = POST_RATE) -> None:
        wait = self._limiter.acquire(f"slack:{key}", rate)
        if wait > 0:
            raise RetryableDeliveryError(f"slack: pacing {key}", retry_after=wait)

    def call(self, method: str, *, admin: bool = False, done: frozenset[str] = frozenset(),
             **args: Any) -> dict:
        """Call `method` through the SDK's typed wrapper; errors in `done` mean it is already so."""
        client = self.admin if admin else self.bot
        if client is None:
            raise PermanentDeliveryError(f"slack {method}: no token for this call", code="no_token")
        try:
            response = getattr(client, method.replace(".", "_"))(**args)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            if exc.response.status_code == 200 and data.get("error") in done:
                log.info("slack %s: %s, counted as done", method, data["error"])
                return {"ok": True, "already": data["error"]}
            raise map_error(method, exc) from None
        except (SlackClientError, OSError, http.client.HTTPException) as exc:
            raise map_error(method, exc) from None
        return response.data if isinstance(response.data, dict) else {}

    def perform(self, call: "Call") -> Delivery:
        """Make a call translate.py described, and report what it created."""
        if call.pace:
            self.pace(call.pace)
        args = dict(call.args)
        if call.dm_user is not None:
            args["channel"] = self.open_dm(call.dm_user)
        data = self.call(call.method, admin=call.admin, done=call.done, **args)
        already = {"already": data["already"]} if "already" in data else {}
        if call.answer == "post":
            return Delivery(remote_id=data.get("ts"), detail={"channel": data.get("channel") or args["channel"]})
        if call.answer == "ephemeral":
            return Delivery(remote_id=data.get("message_ts"), detail={"channel": args["channel"]})
        if call.answer == "message":
            return Delivery(remote_id=call.message_id, detail=already)
        return Delivery(detail=already)

    def open_dm(self, user_id: str) -> str:
        data = self.call("conversations.open", users=user_id)
        channel = data.get("channel") if isinstance(data.get("channel"), dict) else {}
        if not isinstance(channel.get("id"), str):
            raise PermanentDeliveryError("slack conversations.open: no channel in the answer", code="no_channel")
        return channel["id"]
