"""The download limit every connector uses (R5.2.2): it stops as soon as more than the limit arrived."""
from __future__ import annotations

import pytest

from connectors.files import read_limited
from core.errors import FileTooLarge


def test_a_download_within_the_limit_is_joined():
    assert read_limited([b"ab", b"cd"], 4) == b"abcd"


def test_reading_stops_at_the_first_chunk_past_the_limit():
    pulled = []

    def chunks():
        for i in range(100):
            pulled.append(i)
            yield b"x" * 10
    with pytest.raises(FileTooLarge) as err:
        read_limited(chunks(), 25)
    assert pulled == [0, 1, 2] and (err.value.limit_bytes, err.value.seen_bytes) == (25, 30)


def test_an_announced_length_over_the_limit_is_refused_before_reading():
    def never():
        raise AssertionError("read")
        yield b""
    with pytest.raises(FileTooLarge):
        read_limited(never(), 10, declared=11)
