"""Files on Slack: a member's file downloaded (`files.info` → `url_private_download`, GET with the bot
token), and a stored file posted into a channel with `files_upload_v2` (files.getUploadURLExternal, the
upload URL, files.completeUploadExternal). `files.upload` (v1) is closed to new apps and sunset
(docs.slack.dev changelog 2024-04): never used. Scopes: files:read, files:write.
"""
from __future__ import annotations

import requests

from connectors.base import Delivery
from connectors.files import stream_get
from connectors.slack.client import SlackApi
from connectors.slack.mrkdwn import escape
from connectors.slack.translate import Upload
from core.errors import FileTooLarge, PermanentDeliveryError
from core.events import FileRef


def fetch(api: SlackApi, session: requests.Session, token: str, ref: FileRef, max_bytes: int) -> bytes:
    info = api.call("files.info", file=ref.handle).get("file") or {}
    url = info.get("url_private_download") or info.get("url_private")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise PermanentDeliveryError(f"slack files.info {ref.handle}: no download URL "
                                     f"(mode {info.get('mode', '?')})", code="no_download_url")
    size = info.get("size")
    if isinstance(size, int) and size > max_bytes:     # Slack's own size says so: no download at all
        raise FileTooLarge(max_bytes, size)
    data, _ = stream_get(session, url, max_bytes, "slack file download",
                         headers={"Authorization": f"Bearer {token}"})
    return data


def post_file(api: SlackApi, action: Upload, data: bytes) -> Delivery:
    api.pace(f"chat.postMessage:{action.chat_id}")
    result = api.call("files_upload_v2", channel=action.chat_id, file=data, filename=action.name,
                      title=action.name, initial_comment=escape(action.caption) if action.caption else None)
    file = result.get("file") or {}
    return Delivery(remote_id=file.get("id"), detail={"channel": action.chat_id})
