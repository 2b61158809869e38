"""The archive's search over several groups (R3.2.2): the newest matches of all of them, in order, each group
read through its (group_id, sent_at) index from the newest, never sorted whole."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, text

from core.db.models import ArchivedMessage, Group
from core.training import archive_search


def test_a_search_over_several_groups_gives_the_newest_matches_of_all_in_order(container):
    start = datetime(2026, 12, 7, 9, tzinfo=timezone.utc)
    with container.sessions.begin() as s:
        groups = list(s.scalars(select(Group.id).order_by(Group.id).limit(2)))
        assert len(groups) == 2
        for n in range(12):            # alternating groups, a minute apart; every third one does not match
            s.add(ArchivedMessage(platform="sandbox", chat_id=f"c{groups[n % 2]}", message_id=f"m{n}",
                                  group_id=groups[n % 2], user_id="alice", kind="text",
                                  text="作业" if n % 3 else "别的", sent_at=start + timedelta(minutes=n)))
        s.add(ArchivedMessage(platform="sandbox", chat_id="dm", message_id="dm1", group_id=groups[0], user_id="bob",
                              kind="text", text="作业", direct=True, sent_at=start + timedelta(hours=1)))
    with container.sessions() as s:
        found = archive_search.search(s, [groups[0], groups[1], groups[0]], "作業", limit=4)   # the other script
        assert [m.message_id for m in found] == ["m11", "m10", "m8", "m7"]
        assert archive_search.search(s, [], "作业") == []
        if container.engine.dialect.name == "sqlite":
            stmt = (select(ArchivedMessage.id).where(ArchivedMessage.group_id == groups[0])
                    .order_by(ArchivedMessage.sent_at.desc(), ArchivedMessage.id.desc()).limit(4))
            sql = str(stmt.compile(container.engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(row[-1]) for row in s.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "ix_messages_group_sent" in plan and "TEMP B-TREE" not in plan, plan
