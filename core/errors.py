"""One error taxonomy for the whole product; webhooks/errors.py maps it to HTTP once."""
from __future__ import annotations


class StewardError(Exception):
    """Base class: every error Steward raises on purpose."""


class ConfigError(StewardError):
    """steward.yaml or the environment is wrong; the message names the key and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


# --- inbound (mapped to HTTP status codes in webhooks/errors.py) ---
class InboundError(StewardError):
    status = 400


class BadRequest(InboundError):
    status = 400


class PayloadTooLarge(InboundError):
    status = 413


class VerificationFailed(InboundError):
    """Missing, wrong or stale signature. Never say which, to the caller."""
    status = 401


class Forbidden(InboundError):
    status = 403


class NotFound(InboundError):
    """An optional endpoint that is not configured (its capability stays off)."""
    status = 404


# --- outbound (decide retry / give up / fall back in the delivery service) ---
class DeliveryError(StewardError):
    pass


class RetryableDeliveryError(DeliveryError):
    """Try again later: throttled, timeout, 5xx, expired token after refresh failed."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """The platform refused for good (not in channel, no permission, unknown user)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class UnsupportedAction(DeliveryError):
    """The platform cannot do this at all (see Capabilities); the core's fallback runs."""


class FileTooLarge(StewardError):
    """A download passed its limit: nothing is kept, the member is told the limit (R5.2.2)."""

    def __init__(self, limit_bytes: int, seen_bytes: int | None = None) -> None:
        super().__init__(f"the file is larger than {limit_bytes} bytes")
        self.limit_bytes = limit_bytes
        self.seen_bytes = seen_bytes
