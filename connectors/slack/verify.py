"""Slack request signatures (v0): HMAC-SHA256 over "v0:{timestamp}:{raw body}", within 300 s of our clock.

https://docs.slack.dev/authentication/verifying-requests-from-slack. slack_sdk's SignatureVerifier does the
HMAC and the constant-time compare (hmac.compare_digest); we feed it our clock and refuse, before it runs,
anything it would choke on (missing headers, a non-numeric timestamp, non-ASCII signatures).
"""
from __future__ import annotations

import logging
from typing import Mapping

from slack_sdk.signature import Clock as SdkClock
from slack_sdk.signature import SignatureVerifier

from connectors.base import Payload
from core.clock import Clock
from core.errors import VerificationFailed

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
WINDOW_SECONDS = 300  # fixed inside SignatureVerifier; kept here for the log line and the README


class EpochClock(SdkClock):
    """slack_sdk's clock interface (epoch seconds) over our injected Clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now().timestamp()


class SlackVerifier:
    def __init__(self, signing_secret: str, clock: Clock) -> None:
        self._clock = EpochClock(clock)
        self._verifier = SignatureVerifier(signing_secret, clock=self._clock)

    def verify(self, headers: Mapping[str, str], body: bytes) -> Payload:
        """The body, once its signature checked out (Slack signs but does not encrypt)."""
        timestamp = headers.get(TIMESTAMP_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        if not timestamp or not signature:
            log.info("slack: refused a request without signature headers")
            raise VerificationFailed("missing Slack signature")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) \
                or not (signature.isascii() and signature.startswith("v0=")):
            log.info("slack: refused a request with a malformed signature header")
            raise VerificationFailed("malformed Slack signature")
        if abs(self._clock.now() - int(timestamp)) > WINDOW_SECONDS:
            log.info("slack: refused a request outside the %ss window", WINDOW_SECONDS)
            raise VerificationFailed("stale Slack signature")
        try:
            valid = self._verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
        except UnicodeDecodeError:  # Slack only sends UTF-8; the SDK decodes before hashing
            valid = False
        if not valid:
            log.info("slack: refused a request with a wrong signature")
            raise VerificationFailed("wrong Slack signature")
        return Payload(body)
