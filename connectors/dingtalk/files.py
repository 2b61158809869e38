"""Files on DingTalk: what a member sent the robot in a 1:1 chat (`content.downloadCode` →
`POST /v1.0/robot/messageFiles/download {downloadCode, robotCode}` → a temporary `downloadUrl`, doc 0719),
and a stored file posted into a group (oapi `media/upload` type file, doc 0646, then the robot's
`groupMessages/send` with msgKey `sampleFile`). Needs the robot's file-download permission
(`robot_message_file_download`) and the media-upload permission of the app.
"""
from __future__ import annotations

import json

from connectors.dingtalk.client import DingTalkClient
from connectors.files import stream_get
from core.errors import PermanentDeliveryError

DOWNLOAD = "/v1.0/robot/messageFiles/download"
UPLOAD = "/media/upload"             # oapi host


def fetch(client: DingTalkClient, robot_code: str, download_code: str, max_bytes: int) -> bytes:
    answer = client.api(DOWNLOAD, {"downloadCode": download_code, "robotCode": robot_code})
    url = answer.get("downloadUrl")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise PermanentDeliveryError("dingtalk messageFiles/download answered without downloadUrl",
                                     code="no_download_url")
    data, _ = stream_get(client.session, url, max_bytes, "dingtalk file download")
    return data


def upload(client: DingTalkClient, name: str, data: bytes) -> str:
    answer = client.oapi_upload(UPLOAD, {"type": "file"}, {"media": (name, data)})
    media_id = answer.get("media_id")
    if not isinstance(media_id, str) or not media_id:
        raise PermanentDeliveryError("dingtalk media/upload answered without media_id", code="no_media_id")
    return media_id


def file_message(media_id: str, name: str) -> tuple[str, str]:
    """The robot's sampleFile message (msgParam is a JSON string)."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else "file"
    return "sampleFile", json.dumps({"mediaId": media_id, "fileName": name, "fileType": ext}, ensure_ascii=False)
