"""Normalisation before matching, with the way back to the original text.

Detectors match on `Normalised.text`; evidence and spans are reported against the original,
through `Normalised.original_span`. The steps, in order:

1. fold: NFKD compatibility mapping (full-width to half-width, circled digits, ligatures),
   case folding, and removal of combining marks, zero-width, bidi and control characters.
   (NFKD rather than NFKC, so that accents and combining overlays such as f̶u̶c̶k̶ fall away;
   every compatibility mapping of NFKC is applied.)
2. Traditional to Simplified Chinese (OpenCC "t2s"), for text that holds a character t2s
   changes.
3. Separators collapsed between spaced-out characters: 加 微 信, 加.微.信, 加-微-信, f u c k;
   spaces between two Chinese characters dropped (你是傻 逼); runs of spaces and tabs become
   one space.
4. Runs of one repeated Latin letter squeezed: fuuuuck -> fuck ('w' is spared, for www).
5. The usual substitutions used to dodge filters: V信/薇信/威信/vx/wx -> 微信, ➕V/+v -> 加微信,
   扣扣/企鹅号 -> qq.
6. Digits written as words in runs of seven or more: 一三八零零一三八..., 幺三八..., 壹贰叁...,
   "one three eight ..." become digits, so number detectors see them.

Steps 1 and 2 are done on the whole string by C code; the per-character map back to the original
is only built when a detector asks for a span (most messages produce no hit at all).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

# Combining marks, zero-width and bidi controls, variation selectors, soft hyphen, tag characters
# and C0/C1 controls other than tab, newline and carriage return.
_INVISIBLE = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f\u0e31\u0e34-\u0e3a"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\u3099\u309a"
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef\U0001d173-\U0001d17a]")


# Step 3. W: characters that can be spelt out one by one; separators: what people put between
# them. Soft separators (spaces, dots, dashes, symbols) join characters that stand alone on one
# side ("加 微信", "你是傻 逼") and any two Chinese characters on one line ("冰.毒"); sentence
# punctuation only joins characters that stand alone on both sides ("傻，逼", never "出去，死磕").
_W = f"[0-9a-z{CJK}]"
_C = f"[{CJK}]"
_L = "[0-9a-z]"
_SOFT = (" \t\u3000.\\-_*·•~|/\\\\+=#'\"`^"
         "\u2190-\u21ff\u2500-\u25ff\u2600-\u2794\u2796-\u27bf\u2b00-\u2bff"
         "\U0001f300-\U0001faff")
_LINE = "\n\r\f\v"
_HARD = ",、，。…:：;；!！?？()（）\\[\\]【】<>《》{}"
_SEP = _SOFT + _LINE + _HARD
_SL = _SOFT + _LINE
# Each rule is written after its first separator character (so that the regex engine can skip
# ahead to separators); `.` in a look-behind is that separator.
_COLLAPSE = re.compile(
    f"[{_SEP}](?:"
    # after a Chinese character
    f"(?<={_C}.)(?:(?<=[{_SL}])(?<!{_W}{_C}.)[{_SL}]{{0,2}}(?={_W})"   # 加 微信 (standing alone)
    f"|(?<=[{_SOFT}])[{_SOFT}]{{0,2}}(?={_C})"                         # 冰.毒, 傻 逼
    f"|(?<=[{_SL}])[{_SL}]{{0,2}}(?={_W}(?!{_W}))"                     # 加微 信, 加 v
    f"|(?<!{_W}{_C}.)[{_SEP}]{{0,2}}(?={_W}(?!{_W})))"                  # 傻，逼
    # after a Latin letter or digit
    f"|(?<={_L}.)(?:(?<!{_W}{_L}.)(?:(?<=[{_SL}])[{_SL}]{{0,2}}(?={_C}|{_L}(?!{_W}))"  # f u c k
    f"|[{_SEP}]{{0,2}}(?={_W}(?!{_W})))"                                # a，b
    f"|(?<={_L} )(?={_C})"                                              # SB 玩意, 用 Python 写
    f"|(?<=[{_SL}])[{_SL}]{{0,2}}(?={_C}(?!{_W})))"                     # ab 信
    ")", re.DOTALL)

# The same rules for text without Chinese characters (all that can apply there): separators
# between single letters or digits ("f u c k", "a, b").
_COLLAPSE_LATIN = re.compile(
    f"[{_SEP}](?<={_L}.)(?<!{_L}{_L}.)[{_SEP}]{{0,2}}(?={_L}(?!{_L}))", re.DOTALL)

_SPACES = re.compile(r"[ \t]{2,}|\t")
_SQUEEZE = re.compile(r"([a-vx-z])\1\1+")

# Step 5: evasions of 微信 / QQ / 加.
_ALIASES = {
    "v信": "微信", "薇信": "微信", "威信": "微信", "徽信": "微信", "维信": "微信", "微x": "微信",
    "wei信": "微信", "vx": "微信", "wx": "微信", "weixin": "微信", "wechat": "微信",
    "扣扣": "qq", "企鹅号": "qq号", "抠抠": "qq",
}
_SUBSTITUTE = re.compile(
    r"(?=[vwq薇威徽维微扣企抠➕+])(?:"    # a cheap first test: most text has none of these
    r"(?<![a-z])(?<![a-z][./])(?:vx|wx|weixin|wechat)(?![a-z]|[./][a-z])"
    r"|v信|薇信|威信|徽信|维信(?!金)|微x(?![a-z])|wei信|扣扣|企鹅号|抠抠"
    r"|[➕+](?=\s*(?:v|微|薇|威|wx|vx|q|扣|企鹅))"
    r"|(?<=[加➕+])v(?![a-z])|(?<=[加➕+])[薇威](?!信)"
    r"|(?<=[加➕+])q(?![a-z]))")
# What any of those needs. The regex above starts with a look-ahead, so the engine tries it at
# every position; this one starts each alternative with a literal and skips ahead in C.
_SUBSTITUTE_HINT = re.compile(r"v[x信]|w[xe]|薇|威|徽|维|微|扣|企|抠|➕|\+|加")

# Step 6: digits written as words.
_NUMERAL_VALUES = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "壹": "1", "二": "2",
                   "两": "2", "贰": "2", "三": "3", "叁": "3", "四": "4", "肆": "4", "五": "5",
                   "伍": "5", "六": "6", "陆": "6", "七": "7", "柒": "7", "八": "8", "捌": "8",
                   "九": "9", "玖": "9"}
_NUMERALS = "".join(_NUMERAL_VALUES)
_NUMERAL_DIGITS = str.maketrans(_NUMERAL_VALUES)
_NUMERAL_RUN = re.compile(f"[0-9{_NUMERALS}](?:[ -]?[0-9{_NUMERALS}]){{6,}}")
_WORD_DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
                "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_WORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d)"
_NUMBER_WORD = re.compile("zero|one|two|three|four|five|six|seven|eight|nine")
_WORD_RUN = re.compile(rf"(?<![a-z]){_WORD}(?:[\s,-]*{_WORD}){{6,}}(?![a-z])")
_WORD_ONE = re.compile(_WORD)


Edits = tuple[tuple[int, int, int], ...]   # (start, end, new length) in the step's input


def _fold(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = _INVISIBLE.sub("", text)
    elif _INVISIBLE.search(text):
        text = _INVISIBLE.sub("", text)
    return text.casefold()


# Characters whose fold may not be exactly one character: anything but printable ASCII, CJK
# ideographs, CJK punctuation and full-width forms (those all fold one to one).
_MAYBE_RESIZED = re.compile(
    "[^\t\n\r\x20-\x7e\u3001-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e]")
_ANY = re.compile(".", re.DOTALL)


def _char_edits(source: str, convert, candidates: re.Pattern[str] = _MAYBE_RESIZED) -> Edits:
    """The edits a per-character conversion makes (characters that vanish or grow), looking only
    at `candidates`. A combining mark that vanishes belongs to the character before it (f̶ is one
    unit)."""
    units: list[list[int]] = []
    for m in candidates.finditer(source):
        i, ch = m.start(), m.group()
        out = convert(ch)
        if len(out) == 1:
            continue
        if not out and i > 0 and unicodedata.combining(ch):
            if units and units[-1][1] == i and units[-1][2]:
                units[-1][1] = i + 1
                continue
            before = len(convert(source[i - 1]))
            if before:
                units.append([i - 1, i + 1, before])
                continue
        units.append([i, i + 1, len(out)])
    return tuple((a, b, n) for a, b, n in units if b - a != n)


def _back(edits: Edits, pos: int, end: bool) -> int:
    """Map an output position back through one step; `end` maps an inclusive last index."""
    shift = 0
    for start, stop, length in edits:
        out = start + shift
        if pos < out:
            break
        if pos < out + length:
            return stop if end else start
        shift += length - (stop - start)
    return pos - shift + (1 if end else 0)


class Normalised:
    """A message's normalised text, and the way back to the original."""
    __slots__ = ("original", "text", "_steps")

    def __init__(self, original: str, text: str, steps: list | None = None) -> None:
        self.original = original
        self.text = text
        self._steps = steps if steps is not None else []   # Edits, or callables making them

    def __repr__(self) -> str:
        return f"Normalised({self.text!r})"

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that produced text[start:end]."""
        if end <= start:
            a = self.original_span(start, start + 1)[0] if start < len(self.text) else \
                len(self.original)
            return (a, a)
        a, b = start, end - 1
        for i in range(len(self._steps) - 1, -1, -1):
            edits = self._steps[i]
            if callable(edits):
                edits = self._steps[i] = edits()
            if edits:
                a = _back(edits, a, end=False)
                b = _back(edits, b, end=True) - 1
        return (a, max(a, b) + 1)


_T2S_RANGES = ((0x3000, 0x303F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
               (0xFF00, 0xFFEF))


@lru_cache(maxsize=1)
def _converter() -> tuple[object, re.Pattern[str]]:
    """OpenCC's t2s converter, and a character class of every character it changes, so that
    text in Simplified Chinese (no such character) skips the conversion. Built once per process,
    on first use (a few milliseconds)."""
    import opencc  # the C library loads here, not when this module is imported
    t2s = opencc.OpenCC("t2s")
    chars = [chr(cp) for low, high in _T2S_RANGES for cp in range(low, high + 1)]
    converted = t2s.convert("\n".join(chars)).split("\n")
    changed = "".join(a for a, b in zip(chars, converted) if a != b)
    return t2s, re.compile(f"[{re.escape(changed)}]")


class Normaliser:
    """Build once (it loads the OpenCC tables), call for every message."""

    def __init__(self) -> None:
        self._t2s, self._traditional = _converter()
        self._fold_cache: dict[str, str] = {}

    def __call__(self, text: str) -> Normalised:
        steps: list = []
        out = _fold(text)
        if len(out) != len(text) or not text.isascii():
            steps.append(lambda: _char_edits(text, self._fold_char))
        if not out.isascii() and self._traditional.search(out):
            converted = self._t2s.convert(out)
            if len(converted) != len(out):
                # A phrase changed length: convert character by character so the map stays exact.
                source = out
                converted = "".join(self._t2s.convert(ch) for ch in source)
                steps.append(_char_edits(source, self._t2s.convert, _ANY))
            out = converted
        latin = out.isascii()
        out = _constant_step(out, steps, _COLLAPSE_LATIN if latin else _COLLAPSE, "")
        if "  " in out or "\t" in out:
            out = _constant_step(out, steps, _SPACES, " ")
        out = _callback_step(out, steps, _SQUEEZE, _first)
        if _SUBSTITUTE_HINT.search(out):
            out = _callback_step(out, steps, _SUBSTITUTE, _substitute)
        if not latin:       # in ASCII text a run of numerals is a run of digits already
            out = _callback_step(out, steps, _NUMERAL_RUN, _numerals_to_digits)
        if _NUMBER_WORD.search(out):
            out = _callback_step(out, steps, _WORD_RUN, _words_to_digits)
        return Normalised(text, out, steps)

    def fold(self, text: str) -> str:
        """The normalised form of a lexicon term (or any text), without the map."""
        return self(text).text

    def _fold_char(self, ch: str) -> str:
        out = self._fold_cache.get(ch)
        if out is None:
            out = self._fold_cache[ch] = _fold(ch)
        return out


def _constant_step(text: str, steps: list, pattern: re.Pattern[str], replace: str) -> str:
    """Replace every match with a constant, in C; the edits are only worked out if a span is
    ever mapped back."""
    out = pattern.sub(replace, text)
    if len(out) != len(text):
        steps.append(lambda: tuple((m.start(), m.end(), len(replace))
                                   for m in pattern.finditer(text)
                                   if m.end() - m.start() != len(replace)))
    return out


def _callback_step(text: str, steps: list, pattern: re.Pattern[str], replace) -> str:
    """Replace every match with replace(match) (a pure function); like _constant_step, the
    edits are only worked out if a span is ever mapped back."""
    out = pattern.sub(replace, text)
    if out != text:
        steps.append(lambda: tuple((m.start(), m.end(), len(new))
                                   for m in pattern.finditer(text)
                                   for new in (replace(m),) if len(new) != m.end() - m.start()))
    return out


def _first(m: re.Match[str]) -> str:
    return m.group(1)


def _substitute(m: re.Match[str]) -> str:
    s = m.group(0)
    if s in ("➕", "+"):
        return "加"
    if s in ("v", "薇", "威"):
        return "微信"
    if s == "q":
        return "qq"
    return _ALIASES[s]


def _numerals_to_digits(m: re.Match[str]) -> str:
    run = m.group(0)
    if run.isascii():
        return run            # plain digits: the number detectors read those as they are
    return run.translate(_NUMERAL_DIGITS).replace(" ", "").replace("-", "")


def _words_to_digits(m: re.Match[str]) -> str:
    if not any(ch.isalpha() for ch in m.group(0)):
        return m.group(0)     # plain digits with separators: the number detectors read those
    return "".join(_WORD_DIGITS.get(w, w) for w in _WORD_ONE.findall(m.group(0)))


# Leetspeak (m0r0n, a$$hole, n1gger, wh@tsapp): a second view for the lexicon only, since ids,
# codes and numbers must keep their digits. Same length as the text, so spans carry over.
_LEET = str.maketrans("0134579$@", "oieastgsa")
# A leet character inside a word (m0r0n, a$$hole) or $/@ in front of one ($hit): "9am", "q3"
# and "zhang888" are left alone.
_LEET_HINT = re.compile(r"[0-9$@](?:(?<=[a-z].)[0-9$@]*[a-z]|(?<=[$@])(?<![a-z0-9].)[$@]*[a-z])",
                        re.DOTALL)
_LEET_TOKEN = re.compile(r"(?=[a-z0-9$@])(?<![a-z0-9$@])(?:[a-z]+[0-9$@]|[0-9$@]+[a-z])[a-z0-9$@]*")


def deleet(text: str) -> str | None:
    """`text` with digits and $/@ read as letters inside words that mix them with at least two
    letters; None when there are no such words."""
    if _LEET_HINT.search(text) is None:
        return None
    changed = False

    def swap(m: re.Match[str]) -> str:
        nonlocal changed
        word = m.group(0)
        if sum(ch.isalpha() for ch in word) < 2 or _LEET_HINT.search(word) is None:
            return word
        changed = True
        return word.translate(_LEET)

    out = _LEET_TOKEN.sub(swap, text)
    return out if changed else None
