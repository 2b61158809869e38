"""Ads and solicitation beyond words (R8.1.2): WeChat/QQ ids, phone numbers, e-mail addresses and
links offered as contact, group invitations to other platforms, invitation and promo codes.

A WeChat or QQ id after its label is always an offer ("加我微信 zhang_888", "QQ群 12345678").
A phone number, an e-mail address or a link is an offer when the message also carries a
solicitation cue from the `solicit` lexicon ("私聊", "优惠", "dm me") or an ads term; without
one, a phone number or e-mail address is personal data and dlp.py reports it instead. Links to
group invitations on other platforms are always ads; other links outside the company's domains
are ads with a cue, or always when the template sets `flag_external_links`.
"""
from __future__ import annotations

import re
from typing import Sequence

from core.moderation.dlp import EMAIL, Number, domain_allowed
from core.moderation.matcher import Match
from core.moderation.verdict import Hit

_WECHAT = re.compile(
    r"微信(?P<label>号码?|id|同号|账号)?(?P<sep>(?:是|为|[:=]|\s)*)"
    r"(?P<id>wxid_[a-z0-9_-]{4,30}|[a-z][-_a-z0-9]{5,19}|1[3-9]\d{9})(?![-_a-z0-9])"
    r"|(?<![a-z0-9])(?P<wxid>wxid_[a-z0-9_-]{4,30})")
_QQ = re.compile(r"(?<![a-z])qq(?P<label>号码?|群号?)?(?:是|为|[:=]|\s)*(?P<id>[1-9]\d{4,11})(?!\d)")
_MESSENGER = re.compile(
    r"(?<![a-z])(?:whatsapp|telegram)(?:\s*(?:id|号|:|=|是|me|me at|me on))*\s*"
    r"(?P<id>@[a-z0-9_]{4,31}|\+?\d[\d -]{6,16}\d)"
    r"|(?<![a-z])line\s*(?:id)?\s*[:=]\s*(?P<lineid>@?[a-z0-9_.-]{4,20})")
_INVITE_CODE = re.compile(
    r"(?:邀请码|推荐码|优惠码|折扣码|注册码|兑换码|invite code|invitation code|referral code"
    r"|promo code|coupon code|discount code)(?P<sep>(?:是|为|[:=]|\s)*)"
    r"(?P<code>[a-z0-9]{4,16})(?![a-z0-9])")

# Some label an offer needs (for a quick "nothing here").
_HINT = re.compile(r"微信|wxid|qq|whatsapp|telegram|line|码|code")
_TLDS = ("com|cn|net|org|io|co|me|cc|xyz|top|vip|shop|info|biz|club|link|ly|site|online|app|tv"
         "|gg|hk|tw")
URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'`,，。、）)\]】》\u3400-\u9fff]+"
    r"|(?<![\w@./-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    rf"(?:{_TLDS})(?![a-z0-9-])(?:/[^\s<>\"'`,，。、）)\]】》\u3400-\u9fff]*)?")
_LINK_HINT = re.compile(rf"://|www\.|\.(?:{_TLDS})(?![a-z0-9-])")   # cheap test first

# Links that invite people into a group or chat elsewhere.
INVITE_HOSTS = ("t.me", "telegram.me", "chat.whatsapp.com", "wa.me", "discord.gg", "discord.com",
                "qm.qq.com", "jq.qq.com", "u.wechat.com", "line.me", "lin.ee",
                "work.weixin.qq.com/gm")


def find_links(text: str) -> list[tuple[str, tuple[int, int]]]:
    """(host, span) of every link in normalised text."""
    if "." not in text or _LINK_HINT.search(text) is None:
        return []
    out = []
    for m in URL.finditer(text):
        url = m.group(0).rstrip(".!?;:")
        rest = url.split("://", 1)[-1]
        host = re.split(r"[/:?#]", rest, maxsplit=1)[0].strip(".")
        if "." in host:
            out.append((host, (m.start(), m.start() + len(url))))
    return out


_INVITE_DOMAINS = tuple(h for h in INVITE_HOSTS if "/" not in h)
_INVITE_PATHS = tuple(h for h in INVITE_HOSTS if "/" in h)


def _invite(host: str, text: str, span: tuple[int, int]) -> bool:
    if domain_allowed(host, _INVITE_DOMAINS):
        return True
    url = text[span[0]:span[1]]
    return any(h in url for h in _INVITE_PATHS)


class ContactDetector:
    def __init__(self, company_domains: Sequence[str], allowed_link_domains: Sequence[str],
                 flag_external_links: bool) -> None:
        self._company = tuple(company_domains)
        self._links_ok = tuple(company_domains) + tuple(allowed_link_domains)
        self._flag_links = flag_external_links

    def find(self, text: str, numbers: Sequence[Number], matches: Sequence[Match],
             links: Sequence[tuple[str, tuple[int, int]]], pitch: bool = False
             ) -> tuple[list[Hit], set[tuple[int, int]]]:
        """Hits, and the spans of numbers and addresses they used (so DLP does not count them
        twice). `pitch`: another detector found a sales pitch, which makes a number an offer."""
        hits: list[Hit] = []
        claimed: set[tuple[int, int]] = set()
        if not numbers and not links and "@" not in text and _HINT.search(text) is None:
            return hits, claimed
        cue = pitch or any(m.category in ("solicit", "ads") for m in matches)  # a pitch: an offer

        for m in _WECHAT.finditer(text) if "微信" in text or "wxid" in text else ():
            ident = m.group("id") or m.group("wxid")
            if m.group("id") and not m.group("label") and ":" not in (m.group("sep") or "") \
                    and "是" not in (m.group("sep") or "") and ident.isalpha():
                continue   # "微信 group", "wechat please": a word, not an id
            span = m.span("id") if m.group("id") else m.span("wxid")
            hits.append(Hit("ads", "contact", "ads: contact offer (WeChat id)", span,
                            sensitive=ident.isdigit()))
            claimed.update(n.span for n in numbers if _inside(n.span, span))
            claimed.add(span)
        for m in _QQ.finditer(text) if "qq" in text else ():
            kind = "QQ group" if (m.group("label") or "").startswith("群") else "QQ id"
            hits.append(Hit("ads", "contact", f"ads: contact offer ({kind})", m.span("id"),
                            sensitive=True))
            claimed.update(n.span for n in numbers if _inside(n.span, m.span("id")))
        for m in _MESSENGER.finditer(text) if ("whatsapp" in text or "telegram" in text
                                               or "line" in text) else ():
            span = m.span("id") if m.group("id") else m.span("lineid")
            hits.append(Hit("ads", "contact", "ads: contact offer (messenger id)", span,
                            sensitive=True))
            claimed.update(n.span for n in numbers if _inside(n.span, span))
        if cue:
            for n in numbers:
                if n.kind in ("phone", "hotline") and n.span not in claimed:
                    hits.append(Hit("ads", "contact", "ads: contact offer (phone number)", n.span,
                                    sensitive=True))
                    claimed.add(n.span)
            if "@" in text:
                for m in EMAIL.finditer(text):
                    if not domain_allowed(m.group(1), self._company):
                        hits.append(Hit("ads", "contact", "ads: contact offer (e-mail address)",
                                        m.span()))           # redact() masks the address
                        claimed.add(m.span())
        for host, span in links:
            if domain_allowed(host, self._links_ok):
                continue
            if _invite(host, text, span):
                hits.append(Hit("ads", "link", "ads: invitation to a group elsewhere", span))
            elif cue:
                hits.append(Hit("ads", "link", "ads: promotional link", span))
            elif self._flag_links:
                hits.append(Hit("ads", "link", "ads: link outside the company's domains", span))
        for m in _INVITE_CODE.finditer(text) if ("码" in text or "code" in text) else ():
            sep = m.group("sep")
            if any(ch.isdigit() for ch in m.group("code")) or ":" in sep or "是" in sep:
                hits.append(Hit("ads", "invite_code", "ads: invitation or promo code", m.span()))
        return hits, claimed


def _inside(inner: tuple[int, int], outer: tuple[int, int]) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1] or (
        inner[0] < outer[1] and outer[0] < inner[1])
