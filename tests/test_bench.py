"""The ingest bench's own judgement: whose CPU it counts beside the workers."""
from __future__ import annotations

import pytest

from bench.ingest_bench import _on_this_machine


@pytest.mark.parametrize("url,here", [
    ("postgresql://postgres@127.0.0.1:5432/t?options=-csearch_path%3Dbench", True),
    ("postgresql+psycopg://u@localhost/t", True),
    ("postgresql://u@/t?host=/var/run/postgresql", True),      # a Unix socket
    ("postgresql://u@/t", True),                                # libpq's default socket
    ("postgresql://u@db.example.com:5432/t", False),            # its CPU is not on these cores
    ("sqlite:///steward.db", False),
    ("", False),                                                # bare Flask and slack-bolt: no database
])
def test_the_postgresql_server_is_counted_only_when_it_runs_here(url, here):
    assert _on_this_machine(url) is here
