"""Credentials in plain sight (R8.1.4, R3.3.1): cloud access keys, private keys, API tokens and
passwords posted in a group.

Two sources:

1. detect-secrets' plugins (AWS, Azure storage, GitHub, GitLab, Slack, Stripe, OpenAI, JWT,
   private keys, credentials in URLs, ...): each is a tested regex with its own validation
   (a JWT must decode). They run on the original text (keys are case-sensitive), and only when
   a cheap prefilter sees one of their prefixes: a plugin pass costs about 20 times what a
   whole message costs otherwise (bench/moderation_bench.py).
2. Keyword and value: a password, token or secret word — 密码, 密碼, 口令, 秘钥, 密钥, 金鑰,
   password, passwd, token, secret, api key, AppSecret ... — followed by a value that looks
   like a credential: no spaces, at least six characters, and mixed letters, digits and symbols
   (or a long high-entropy string, measured with detect-secrets' Shannon entropy). "密码忘了",
   "password=<your-password>" and "密码至少8位" have no such value. Keys of clouds the library
   does not know (Google API keys, Alibaba and Tencent Cloud access keys, GCP service-account
   files) are matched by their documented prefixes.

Every hit deletes the message (the secret must leave the group) and is severe by default: a
posted credential has to be rotated whoever posted it.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

from core.moderation.verdict import Hit

# The prefixes that any library plugin needs; without one, the plugins are not run. (Every
# alternative starts with a literal character: the regex engine then skips ahead to those.)
_PLUGIN_HINT = re.compile(
    r"AKIA|ASIA|A3T|ABIA|ACCA|AccountKey|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|glpat-|xox[abposr]-|"
    r"hooks\.slack|rk_live_|sk_live_|sk-|eyJ|PRIVATE KEY|://[^\s/:@]+:[^\s@/]+@|SG\.|npm_|pypi-|"
    r"AC[0-9a-f]{32}|SK[0-9a-f]{32}")

# Secret types that detect-secrets reports and that count here (its high-entropy and keyword
# plugins are not used: on chat text they report every other word).
_PLUGIN_NAMES = (
    "AWSKeyDetector", "AzureStorageKeyDetector", "BasicAuthDetector", "DiscordBotTokenDetector",
    "GitHubTokenDetector", "GitLabTokenDetector", "JwtTokenDetector", "MailchimpDetector",
    "NpmDetector", "OpenAIDetector", "PrivateKeyDetector", "PypiTokenDetector",
    "SendGridDetector", "SlackDetector", "SquareOAuthDetector", "StripeDetector",
    "TelegramBotTokenDetector", "TwilioKeyDetector",
)

_CLOUD_KEYS = re.compile(
    r"(?P<google>AIza[0-9A-Za-z_\-]{35})"
    r"|(?P<alibaba>LTAI[0-9A-Za-z]{12,24})(?![0-9A-Za-z])"
    r"|(?P<tencent>AKID[0-9A-Za-z]{32})(?![0-9A-Za-z])"
    r"|(?P<gcp>\"(?:private_key_id|private_key)\"\s*:\s*\"[^\"]{16,})")
_CLOUD_HINT = re.compile(r"AIza|LTAI|AKID|private_key")
_ANY_HINT = re.compile(f"{_PLUGIN_HINT.pattern}|{_CLOUD_HINT.pattern}")   # both in one pass

# Keyword then value. The keyword test is also the cheap prefilter for this part.
_KEYWORD = re.compile(
    r"密码|密碼|口令|[秘密私金][钥鑰]|"
    r"(?<![a-z])(?:password|passwd|passwort|pwd|passcode|pass|secret|secret[ _-]?key|"
    r"client[ _]secret|app[ _]?secret|access[ _]?key(?:[ _]?secret)?|secret[ _]?id|"
    r"api[ _-]?(?:key|token)|token|webhook key|auth key|key)(?![a-z])", re.I)
# The same without IGNORECASE, for text whose lower() keeps every offset (matching a lowered
# string is about three times faster) and holds none of the three letters that IGNORECASE
# takes for an ASCII one while lower() does not (İ, ı, ſ).
_KEYWORD_LOWER = re.compile(_KEYWORD.pattern)
_CASE_ODD = re.compile("[\u0130\u0131\u017f]")
_KEYWORD_HINT = re.compile(r"密[码碼钥鑰]|口令|秘[钥鑰]|私[钥鑰]|金[钥鑰]|pass|pwd|secret|token|key")
_VALUE = re.compile(r"(?:^|(?<=[\s:=：是为為,，(（]))"
                    r"(?P<value>[\x21-\x39\x3b\x3c\x3e-\x7e][\x21-\x7e]{5,})")
_WINDOW = 48
# user / password after a login word: "login is j.smith / Sunshine1!", "账号 zhaoliu / zl@123456"
_SLASH = re.compile(
    r"(?:账号|帳號|帐号|账户|帳戶|login|user(?:name)?|用户名)[^\n/]{0,20}?[\x21-\x7e]{2,}\s*/\s*"
    r"(?P<value>[\x21-\x7e]{6,})", re.I)
_LOGIN_HINT = re.compile(r"账号|帳號|帐号|账户|帳戶|login|user|用户名")
_URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^\s:/@]*:(?P<value>[^\s@/]{4,})@", re.I)

_PLACEHOLDER = re.compile(
    r"^(?:<.*>|\{.*\}|\$\{.*|x{3,}|\*{3,}|\.{3,}|your[-_]?\w*|example\w*|changeme|placeholder|"
    r"password\w*|secret\w*|token\w*|none|null|true|false|[a-z]+)$", re.I)
_GAP_STOP = re.compile(r"[。？?!！]|怎么|如何|忘|重置|过期|過期|要求|规则|規則|至少|别|不要|never|don't|"
                       r"forgot|reset|expired|rules|policy|manager|where|how")


_TRAILING = ".,;:?，。；：！？)）]】\"'"


def _entropy(value: str) -> float:
    from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString
    return Base64HighEntropyString().calculate_shannon_entropy(value)


def looks_like_secret(value: str) -> bool:
    """A value that could be a password or key, not a word, a number or a placeholder."""
    value = value.rstrip(_TRAILING)
    if len(value) < 6 or _PLACEHOLDER.match(value):
        return False
    if "://" in value or value.startswith("http") or "@" in value[1:-1] and "." in value.split("@")[-1]:
        if not re.search(r"[!#$%^&*]", value):
            return False          # a link or an e-mail address
    kinds = (any(c.islower() for c in value) + any(c.isupper() for c in value)
             + any(c.isdigit() for c in value) + any(not c.isalnum() for c in value))
    if len(value) >= 16:
        return kinds >= 2 and _entropy(value) >= 3.0
    return kinds >= 3 or (kinds >= 2 and any(not c.isalnum() for c in value)
                          and any(c.isdigit() for c in value))


@lru_cache(maxsize=1)
def _plugins() -> tuple:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    classes = {cls.__name__: cls for cls in get_mapping_from_secret_type_to_class().values()}
    return tuple(classes[name]() for name in _PLUGIN_NAMES if name in classes)


def _library_secrets(text: str) -> Iterable[tuple[str, tuple[int, int]]]:
    for plugin in _plugins():
        for value in plugin.analyze_string(text):
            if not value:
                continue
            start = text.find(value)
            if start < 0:
                continue
            yield plugin.secret_type, (start, start + len(value))


class SecretsDetector:
    def find(self, original: str, folded: str) -> list[Hit]:
        """Hits with spans in `original` (Hit.in_original). `folded` is the normalised text,
        used only for the cheap keyword test."""
        hits: list[Hit] = []
        if _ANY_HINT.search(original) is None:
            return self._keyword_values(original, folded)
        if _PLUGIN_HINT.search(original) is not None:
            for kind, span in _library_secrets(original):
                hits.append(_hit(f"dlp: credential in the message ({kind})", span, 0.97))
        if _CLOUD_HINT.search(original) is not None:
            for m in _CLOUD_KEYS.finditer(original):
                kind = {"google": "Google API key", "alibaba": "Alibaba Cloud AccessKey ID",
                        "tencent": "Tencent Cloud SecretId",
                        "gcp": "GCP service-account key"}[m.lastgroup or "gcp"]
                hits.append(_hit(f"dlp: credential in the message ({kind})", m.span(), 0.95))
        if not hits:
            hits.extend(self._keyword_values(original, folded))
        return hits

    @staticmethod
    def _keyword_values(text: str, folded: str) -> list[Hit]:
        if _KEYWORD_HINT.search(folded) is not None:
            lowered = text.lower()
            keywords = _KEYWORD_LOWER.finditer(lowered) \
                if len(lowered) == len(text) and _CASE_ODD.search(text) is None \
                else _KEYWORD.finditer(text)
            for k in keywords:
                window = text[k.end():k.end() + _WINDOW]
                for v in _VALUE.finditer(window):
                    if _GAP_STOP.search(window, 0, v.start()) is not None:
                        break
                    value = v.group("value")
                    if looks_like_secret(value):
                        score = 0.9 if len(value) >= 12 else 0.8
                        start = k.end() + v.start()
                        return [_hit(f"dlp: {k.group(0).lower()} posted with its value",
                                     (start, start + len(value.rstrip(_TRAILING))), score)]
        if "/" in text and _LOGIN_HINT.search(folded) is not None:
            for m in _SLASH.finditer(text):
                if looks_like_secret(m.group("value")):
                    return [_hit("dlp: login and password posted together", m.span("value"), 0.85)]
        if "://" in text:
            for m in _URL_CREDENTIALS.finditer(text):
                if looks_like_secret(m.group("value")):
                    return [_hit("dlp: password in a link", m.span("value"), 0.9)]
        return []


def _hit(rule: str, span: tuple[int, int], score: float) -> Hit:
    return Hit("dlp", "dlp.secret", rule, span, severe=True, delete=True, sensitive=True,
               in_original=True, score=score)
