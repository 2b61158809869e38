"""The local file store (R5.2.1: every attempt kept with its SHA-256): content-addressed, written
atomically (a temporary file renamed into place), the same content once."""
from __future__ import annotations

import hashlib
import os

import pytest

from core.file_store import LocalFileStore


def test_put_stores_under_the_sha256_and_reads_back(tmp_path):
    store = LocalFileStore(tmp_path / "files")
    data = b"%PDF-1.4 report"
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.path(sha) == tmp_path / "files" / sha[:2] / sha[2:4] / sha
    assert store.read(sha) == data and store.has(sha)
    assert [p.name for p in (tmp_path / "files").rglob("*") if p.is_file()] == [sha]   # no temporary left


def test_the_same_content_is_stored_once(tmp_path):
    store = LocalFileStore(tmp_path)
    first = store.put(b"same bytes")
    inode = store.path(first).stat().st_ino
    assert store.put(b"same bytes") == first
    assert store.path(first).stat().st_ino == inode, "not written again"
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path, monkeypatch):
    """The bytes reach the final name only by rename: a write that fails half-way leaves nothing behind."""
    store = LocalFileStore(tmp_path)

    def disk_full(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        store.put(b"half a file")
    sha = hashlib.sha256(b"half a file").hexdigest()
    assert not store.has(sha)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_only_sha256_names_are_paths(tmp_path):
    store = LocalFileStore(tmp_path)
    for bad in ("../../etc/passwd", "ABC", "0" * 63):
        with pytest.raises(ValueError):
            store.path(bad)
    with pytest.raises(FileNotFoundError):
        store.read("0" * 64)


def test_check_says_whether_the_directory_can_be_written(tmp_path):
    assert LocalFileStore(tmp_path / "not" / "yet").check() is None       # created on the first file
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert "not a directory" in LocalFileStore(blocker / "files").check()
