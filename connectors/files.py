"""Helpers every connector's file transfers share: a download that stops at its limit, and the bytes of
a PostFile from the file store."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import requests

from core.errors import FileTooLarge, PermanentDeliveryError, RetryableDeliveryError
from core.ports import FileStore

CHUNK = 64 * 1024
TIMEOUT = (3.05, 30)        # connect, read between chunks (seconds)


def read_limited(chunks: Iterable[bytes], max_bytes: int, declared: int | None = None) -> bytes:
    """Join a download's chunks, stopping as soon as more than `max_bytes` arrived (or the server
    announces more in Content-Length): a file larger than it claimed is never read to its end."""
    if declared is not None and declared > max_bytes:
        raise FileTooLarge(max_bytes, declared)
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > max_bytes:
            raise FileTooLarge(max_bytes, len(data))
    return bytes(data)


def stored_bytes(files: FileStore | None, sha256: str) -> bytes:
    """The bytes of a PostFile, or a permanent error when the store does not have them."""
    try:
        if files is None:
            raise FileNotFoundError(sha256)
        return files.read(sha256)
    except (FileNotFoundError, ValueError):
        raise PermanentDeliveryError(f"file {sha256[:12]} is not in the file store", code="file_missing") from None


def declared_length(headers: Mapping[str, str]) -> int | None:
    try:
        return int(headers.get("Content-Length") or "")
    except ValueError:
        return None



def stream_get(session: requests.Session, url: str, max_bytes: int, what: str, *,
               timeout: tuple[float, float] = TIMEOUT, **kwargs: Any) -> tuple[bytes, str]:
    """GET `url` streaming, at most `max_bytes`; returns the bytes and the Content-Type. 429, 5xx and
    network failures are worth another try, any other 4xx is refused for good (like deliver())."""
    try:
        with session.get(url, stream=True, timeout=timeout, **kwargs) as response:
            status = response.status_code
            if status == 429 or status >= 500:
                raise RetryableDeliveryError(f"{what}: HTTP {status}", retry_after=_retry_after(response))
            if status >= 400:
                raise PermanentDeliveryError(f"{what}: HTTP {status}", code=f"http_{status}")
            data = read_limited(response.iter_content(CHUNK), max_bytes, declared_length(response.headers))
            return data, response.headers.get("Content-Type") or ""
    except requests.RequestException as exc:
        raise RetryableDeliveryError(f"{what}: {type(exc).__name__}") from None


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After") or ""))
    except ValueError:
        return None
