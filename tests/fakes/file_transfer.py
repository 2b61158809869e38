"""What the fakes share to serve files the way the platforms do: a download (with Content-Length, or
chunked without one, so a client cannot know the size before reading) and a multipart upload body."""
from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler


def send_bytes(req: BaseHTTPRequestHandler, data: bytes, content_type: str = "application/octet-stream",
               *, chunked: bool = False, headers: dict[str, str] | None = None, chunk: int = 16384) -> int:
    """Answer 200 with `data`; returns how many bytes were written before the client hung up."""
    req.send_response(200)
    req.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        req.send_header(name, value)
    if chunked:
        req.send_header("Transfer-Encoding", "chunked")
    else:
        req.send_header("Content-Length", str(len(data)))
    req.end_headers()
    written = 0
    try:
        for start in range(0, len(data), chunk):
            piece = data[start:start + chunk]
            req.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            written += len(piece)
        if chunked:
            req.wfile.write(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):   # the client stopped reading (a size limit)
        req.close_connection = True
    return written


def parse_multipart(content_type: str, raw: bytes) -> dict[str, object]:
    """A multipart/form-data body -> {field: text, or (filename, bytes) for a file part}."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + raw)
    fields: dict[str, object] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        fields[name] = (filename, payload) if filename is not None else payload.decode("utf-8")
    return fields
