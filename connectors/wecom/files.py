"""Files on WeCom: what a member sent the app (`media/get?media_id=`, doc 90254) and a stored file posted
into an app group (`media/upload?type=file`, doc 90253, then `appchat/send` msgtype file, doc 90248).

wechatpy 1.8's `client.media.download` builds its URL on qyapi.weixin.qq.com whatever the base URL and
reads the whole body at once, so the download is a streaming GET on the client's base URL with the
client's token. media/get answers the bytes, or JSON with an errcode: 40014/42001 refresh the token once
(like every other call), the rest map like deliver()'s errors. A media id lasts 3 days (doc 91054), so
the upload happens at delivery time.
"""
from __future__ import annotations

import json

import requests
from wechatpy.exceptions import WeChatClientException

from connectors.files import stream_get
from connectors.wecom.client import TOKEN_ERRORS, WeComApi, map_error
from core.errors import PermanentDeliveryError


def fetch(api: WeComApi, session: requests.Session, media_id: str, max_bytes: int) -> bytes:
    for attempt in (1, 2):
        token = api.call("gettoken", lambda c: c.access_token)
        data, content_type = stream_get(session, api.client.API_BASE_URL + "media/get", max_bytes,
                                        "wecom media/get", params={"access_token": token, "media_id": media_id})
        if "json" not in content_type.lower() and not content_type.lower().startswith("text/plain"):
            return data
        try:
            answer = json.loads(data.decode("utf-8"))
            errcode = int(answer.get("errcode") or 0)
        except (ValueError, AttributeError):
            return data            # a JSON file the member sent, not an error
        if errcode == 0:
            return data
        if attempt == 1 and errcode in TOKEN_ERRORS:
            api.client.session.delete(api.client.access_token_key)
            continue
        raise map_error(WeChatClientException(errcode, answer.get("errmsg")), "media/get")
    raise AssertionError("unreachable")


def upload(api: WeComApi, name: str, data: bytes) -> str:
    """media/upload?type=file (≤ 20 MB); the media id, valid for 3 days."""
    result = api.call("media/upload", lambda c: c.media.upload("file", (name, data)))
    media_id = result.get("media_id") if isinstance(result, dict) else None
    if not media_id:
        raise PermanentDeliveryError("wecom media/upload answered without media_id", code="no_media_id")
    return media_id
