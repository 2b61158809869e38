"""The local-directory file store: content-addressed by SHA-256, written atomically.

`<root>/ab/cd/abcd…` holds the bytes whose SHA-256 is `abcd…`. A file is written to a temporary name in
the same directory and renamed into place, so a reader never sees half a file and a crash leaves only a
temporary file behind; the same content is stored once, however often it arrives.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class LocalFileStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.is_file() and target.stat().st_size == len(data):
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def check(self) -> str | None:
        """None when files can be written under the root (it need not exist yet); else what is wrong."""
        return directory_problem(self.root)


def directory_problem(root: Path) -> str | None:
    """None when files can be written under `root` (it need not exist yet); else what is wrong."""
    existing = next((p for p in (root.absolute(), *root.absolute().parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        return f"{root}: not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{root}: not writable"
    return None
