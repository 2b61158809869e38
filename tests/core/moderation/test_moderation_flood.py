"""Flooding and junk (R8.1.3) with an injected time: rate, repeats, mention storms; one verdict
when a sender crosses a threshold, not one per message after it."""
from __future__ import annotations

from datetime import timedelta

from core.moderation import MemoryRecentMessages, ModerationSettings, Moderator
from core.moderation.flood import fingerprint, mentions_in

from .conftest import T0


def _moderator(**kw) -> Moderator:
    return Moderator(ModerationSettings(**kw), MemoryRecentMessages())


def _detectors(m: Moderator, text: str, seconds: float, sender: str = "U1", chat: str = "C1",
               mentions: int = 0) -> set[str]:
    return {v.detector for v in m.check(text, sender=sender, chat=chat,
                                         at=T0 + timedelta(seconds=seconds), mentions=mentions)}


def test_rate_crosses_once() -> None:
    m = _moderator(flood_max_messages=8, flood_window_seconds=30)
    seen = [_detectors(m, f"第{i}条：不同的内容 {i}", i * 2) for i in range(12)]
    assert [("flood.rate" in d) for d in seen] == [False] * 8 + [True] + [False] * 3
    (v,) = [v for v in m.check("再来", sender="U1", chat="C1", at=T0 + timedelta(seconds=200))
            if v.category == "flood"] or [None]
    assert v is None                      # the window has passed: calm again


def test_rate_is_per_sender_and_chat() -> None:
    m = _moderator(flood_max_messages=3, flood_window_seconds=10)
    for i in range(3):
        assert not _detectors(m, f"问题{i}", i, sender="U1")
        assert not _detectors(m, f"问题{i}", i, sender="U2")
        assert not _detectors(m, f"问题{i}", i, sender="U1", chat="C2")
    assert "flood.rate" in _detectors(m, "问题3", 3, sender="U1")


def test_slow_senders_never_flood() -> None:
    m = _moderator(flood_max_messages=3, flood_window_seconds=10)
    assert not any(_detectors(m, f"消息 {i} 号", i * 5) for i in range(20))


def test_repeats_with_small_changes_are_the_same_message() -> None:
    m = _moderator(repeat_max=3, repeat_window_seconds=300, flood_max_messages=100)
    texts = ["免费领取学习资料！！", "免费领取学习资料~~1", "免费 领取 学习资料 2", "免費領取學習資料",
             "免费领取学习资料!!!"]
    seen = [_detectors(m, t, i * 40) for i, t in enumerate(texts)]
    assert [("flood.repeat" in d) for d in seen] == [False, False, False, True, False]


def test_short_acknowledgements_are_not_repeats() -> None:
    m = _moderator(repeat_max=3)
    assert not any(_detectors(m, "好的", i * 30) for i in range(8))
    assert not any(_detectors(m, "收到", i * 30, sender="U2") for i in range(8))


def test_mention_storm() -> None:
    m = _moderator(mention_storm=8)
    assert "flood.mentions" in _detectors(m, "看这里", 0, mentions=9)
    text = " ".join(f"<@U{i:03d}>" for i in range(8)) + " 快来"
    assert "flood.mentions" in _detectors(m, text, 1, sender="U2")
    assert not _detectors(m, "@张三 @李四 作业交了吗", 2, sender="U3")
    assert not {d for d in _detectors(m, "发到 a@acme.cn b@acme.cn", 3, sender="U4")
                if d.startswith("flood")}


def test_thresholds_are_per_template() -> None:
    strict = _moderator(flood_max_messages=2, flood_window_seconds=60)
    loose = _moderator(flood_max_messages=20, flood_window_seconds=60)
    a = [_detectors(strict, f"消息{i}", i) for i in range(3)]
    b = [_detectors(loose, f"消息{i}", i) for i in range(3)]
    assert "flood.rate" in a[2] and not any(b)


def test_fingerprint_and_mentions_helpers() -> None:
    assert fingerprint("加我!!1")[0] == fingerprint("加我~~2")[0]
    assert fingerprint("加我")[0] != fingerprint("加他")[0]
    assert mentions_in("<@U1> <@U2> @王五 mail a@b.com") == 3


def test_memory_store_counts_windows() -> None:
    store = MemoryRecentMessages()
    for i in range(5):
        store.record("C", "U", "x" if i % 2 else "y", T0 + timedelta(seconds=i))
    assert store.count("C", "U", T0) == 5
    assert store.count("C", "U", T0 + timedelta(seconds=3)) == 2
    assert store.count("C", "U", T0, "x") == 2
    assert store.count("C", "other", T0) == 0


def test_memory_store_counts_a_long_history_exactly_by_binary_search() -> None:
    """R8.1.3: a flooder's long history is not scanned message by message (the counts are binary searches
    over the times), and the counts are exact with or without `enough`."""
    store = MemoryRecentMessages()
    for i in range(400):
        store.record("C", "U", "x" if i % 4 else "y", T0 + timedelta(seconds=i))
    since = T0 - timedelta(seconds=1)
    assert store.counts("C", "U", since, "x", since) == (400, 300)
    assert store.counts("C", "U", since, "x", since, enough=7) == (400, 300)
    assert store.counts("C", "U", T0 + timedelta(seconds=390), "y", T0 + timedelta(seconds=200)) == (10, 50)
    assert store.counts("C", "U", since, "z", since) == (400, 0)
    assert store.count("C", "U", T0 + timedelta(seconds=396), "y") == 1
    assert store.count("C", "other", since) == 0


def test_memory_store_keeps_per_key_entries_and_their_fingerprints_together() -> None:
    store = MemoryRecentMessages(per_key=10)
    for i in range(25):
        store.record("C", "U", "x" if i % 2 else "y", T0 + timedelta(seconds=i))
    since = T0 - timedelta(seconds=1)
    assert store.counts("C", "U", since, "x", since) == (10, 5)     # the last ten: 15..24
    assert store.count("C", "U", since, "y") == 5


def test_memory_store_counts_messages_that_arrive_out_of_order_where_they_belong() -> None:
    """A message stamped earlier than the last (a redelivery, an edit, another clock) counts at its own time:
    moved forward, it would have counted in every window after it, and flagged innocent senders."""
    store = MemoryRecentMessages(per_key=20)
    store.record("C", "U", "x", T0 + timedelta(hours=1))         # one message stamped an hour ahead
    for i in range(10):
        store.record("C", "U", "y", T0 + timedelta(seconds=30 * i))
    at = T0 + timedelta(seconds=270)
    assert store.counts("C", "U", at - timedelta(seconds=60), "y", at - timedelta(seconds=60)) == (4, 3)
    assert store.count("C", "U", T0 + timedelta(minutes=30), "x") == 1
    for i in range(25):                                             # the oldest arrivals leave first
        store.record("C", "U", "z", T0 + timedelta(minutes=10, seconds=i))
    assert store.count("C", "U", T0) == 20 and store.count("C", "U", T0, "x") == 0


def test_flood_verdict_fields() -> None:
    m = _moderator(mention_storm=3)
    (v,) = m.check("@a @b @c 看群公告", sender="U", chat="C", at=T0)
    assert (v.category, v.clause, v.detector, v.severity, v.nudge) == (
        "flood", "R8.1.3", "flood.mentions", "normal", False)
    assert v.span == (0, len("@a @b @c 看群公告"))


class TwoMethodStore:
    """A RecentMessages with only the two methods of the port (what a DB store starts with)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, object]] = []

    def record(self, chat, sender, fingerprint, at, message=None) -> None:
        self.rows.append((chat, sender, fingerprint, at))

    def count(self, chat, sender, since, fingerprint=None) -> int:
        return sum(1 for c, s, f, a in self.rows
                   if c == chat and s == sender and a >= since and fingerprint in (None, f))


def test_a_store_with_just_the_port_gives_the_same_verdicts() -> None:
    settings = ModerationSettings(flood_max_messages=3, flood_window_seconds=10, repeat_max=2)
    fast, plain = Moderator(settings, MemoryRecentMessages()), Moderator(settings, TwoMethodStore())
    script = [("免费领取学习资料", 0), ("免费领取学习资料", 20), ("免费领取学习资料", 40),
              ("问题一", 41), ("问题二", 42), ("问题三", 43), ("问题四", 44), ("好的", 90)]
    seen = []
    for text, seconds in script:
        at = T0 + timedelta(seconds=seconds)
        a = {v.detector for v in fast.check(text, sender="U", chat="C", at=at)}
        b = {v.detector for v in plain.check(text, sender="U", chat="C", at=at)}
        assert a == b, (text, a, b)
        seen.append(a)
    assert "flood.repeat" in seen[2] and "flood.rate" in seen[5]


def test_cjk_punctuation_is_not_part_of_the_fingerprint() -> None:
    """Brackets and quotation marks (《》「」【】, U+3008-U+3011) are punctuation: a message is the same message
    with or without them, and they add nothing to its length."""
    assert fingerprint("《就差十个了》") == fingerprint("就差9个了")
    assert fingerprint("【通知】明天开会")[0] == fingerprint("通知：明天开会")[0]
    assert fingerprint("《》「」【】好")[1] == 1
    assert fingerprint("〇〇〇好")[1] == 1                 # 〇 is a numeral, as 零


def test_memory_store_tally_is_record_then_counts() -> None:
    """FloodDetector's fast path records and counts in one call; it answers as the two calls would."""
    one, two = MemoryRecentMessages(per_key=20), MemoryRecentMessages(per_key=20)
    for i in range(60):
        at, fp = T0 + timedelta(seconds=i), ("x", "y", "z")[i % 3] if i % 5 else "x"
        since, since_same = at - timedelta(seconds=15), at - timedelta(seconds=40)
        two.record("C", "U", fp, at)
        assert one.tally("C", "U", fp, at, since, since_same) == two.counts("C", "U", since, fp, since_same)
