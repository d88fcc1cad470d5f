"""Admin-written patterns: one accepted syntax, checked at definition time, matched in linear time.

A field's ``pattern`` is checked on the server with RE2 (``google-re2``), which never backtracks, so no
value can make a check take long (``((a+))+$`` against 34 ``a`` and ``!`` answers at once). The browser
checks the same pattern as a JavaScript ``RegExp`` with the ``u`` flag (``app/static/js/casework.js``).
The accepted syntax is the part both engines read the same way; everything else is refused when the
form is saved, with a message an admin understands:

* literal characters; ``\\`` before any of ``^ $ \\ . * + ? ( ) [ ] { } | /`` for the character itself
* ``.`` ``^`` ``$`` ``|``, groups ``( )`` and ``(?: )``
* ``* + ?`` and ``{n}`` ``{n,}`` ``{n,m}`` (at most 1000), each optionally followed by ``?``
* classes ``[...]`` and ``[^...]`` with ranges, ``\\d \\D \\w \\W \\s \\S \\b \\B \\n \\r \\t \\f``,
  ``\\xHH`` and ``\\p{L}``-style Unicode general categories

Refused: back-references, look-ahead and look-behind (RE2 cannot run them in linear time), named groups,
inline flags, POSIX classes, empty classes and lone ``{ } ]`` (the two engines read those differently).
Where the two engines' classes differ (``\\s``, ``.``), the pattern given to RE2 spells out the
JavaScript meaning, so a value the browser accepts is accepted by the server and the other way round.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import re2

__all__ = ["MAX_PATTERN_LENGTH", "MAX_REPEAT", "browser_safe", "check_pattern", "full_match", "pattern_from_mask",
           "to_re2"]

MAX_PATTERN_LENGTH = 500
MAX_REPEAT = 1000

_SYNTAX = set("^$\\.*+?()[]{}|/")
_SHORTHAND = set("dDwWsS")
_CONTROL_ESCAPES = {"n": "\\n", "r": "\\r", "t": "\\t", "f": "\\f"}
_CATEGORIES = frozenset({
    "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps", "Pe",
    "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Co",
})
# JavaScript's \s (WhiteSpace and LineTerminator) spelled out for RE2, whose \s is ASCII only.
_JS_SPACE = ("\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}"
             "\\x{3000}\\x{FEFF}")
# JavaScript's . (everything but line terminators), for RE2 whose . only leaves out \n.
_JS_DOT = "[^\\n\\r\\x{2028}\\x{2029}]"


class _Refused(ValueError):
    """A pattern outside the accepted syntax; the message completes "The pattern ..."."""


def _hex2(text: str, at: int) -> int:
    digits = text[at:at + 2]
    if len(digits) != 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise _Refused("has \\x without two hexadecimal digits after it (write \\x41 for A)")
    return int(digits, 16)


class _Scanner:
    """Walks a pattern once: refuses what is outside the accepted syntax and writes the RE2 spelling."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.out: list[str] = []
        self.depth = 0
        # Per open group: whether it holds a repetition or an alternative; a repeated group that does is
        # harmless in RE2 but can backtrack for minutes in a browser's engine.
        self.busy: list[bool] = [False]
        self.last_group_busy = False
        self.nested = False

    def run(self) -> str:
        can_repeat = False
        while self.at < len(self.text):
            ch = self.text[self.at]
            if ch in "*+?{":
                if not can_repeat:
                    raise _Refused(f"has a repetition ({ch}) with nothing before it to repeat; write \\{ch} "
                                   "for the character itself")
                if self.text[self.at - 1] == ")" and self.last_group_busy:
                    self.nested = True
                self.busy[-1] = True
                self.quantifier()
                can_repeat = False
                continue
            can_repeat = True
            if ch == "\\":
                can_repeat = self.escape()
            elif ch == "[":
                self.char_class()
            elif ch == "(":
                self.group()
                can_repeat = False
            elif ch == ")":
                if self.depth == 0:
                    raise _Refused("closes a bracket ) that was never opened")
                self.depth -= 1
                self.last_group_busy = self.busy.pop()
                self.busy[-1] = self.busy[-1] or self.last_group_busy
                self.emit(")")
            elif ch in "^$":
                self.emit(ch)
                can_repeat = False
            elif ch == "|":
                self.busy[-1] = True
                self.emit("|")
                can_repeat = False
            elif ch == ".":
                self.emit(_JS_DOT)
            elif ch in "]}":
                raise _Refused(f"has a lone {ch}; write \\{ch} for the character itself")
            else:
                self.emit(ch)
        if self.depth:
            raise _Refused("opens a bracket ( that is never closed")
        return "".join(self.out)

    def emit(self, piece: str, width: int = 1) -> None:
        self.out.append(piece)
        self.at += width

    def quantifier(self) -> None:
        ch = self.text[self.at]
        if ch == "{":
            end = self.text.find("}", self.at)
            body = self.text[self.at + 1:end] if end > 0 else ""
            low, _comma, high = body.partition(",")
            if end < 0 or not low.isascii() or not low.isdigit() or (high and not (high.isascii() and high.isdigit())):
                raise _Refused("has a { that is not a repetition like {3} or {2,5}; write \\{ for the character "
                               "itself")
            if int(low) > MAX_REPEAT or (high and int(high) > MAX_REPEAT):
                raise _Refused(f"repeats something more than {MAX_REPEAT} times")
            if high and int(high) < int(low):
                raise _Refused(f"has the repetition {{{body}}} whose maximum is below its minimum")
            self.emit(self.text[self.at:end + 1], end + 1 - self.at)
        else:
            self.emit(ch)
        if self.at < len(self.text) and self.text[self.at] == "?":
            self.emit("?")
        if self.at < len(self.text) and self.text[self.at] in "*+?{":
            raise _Refused("has two repetitions in a row (like a** or a{2}+); keep one")

    def escape(self, in_class: bool = False) -> bool:
        """Copies one escape; answers whether it can be repeated (assertions like \\b cannot)."""
        if self.at + 1 >= len(self.text):
            raise _Refused("ends with a lone \\")
        ch = self.text[self.at + 1]
        if ch in "123456789" or ch == "k":
            raise _Refused("uses a back-reference (like \\1), which cannot be checked quickly; remove it")
        if ch in "bB":
            if in_class:
                raise _Refused(f"has \\{ch} inside [...], where the browser and the server read it differently")
            self.emit("\\" + ch, 2)
            return False
        if ch in _SHORTHAND:
            if ch == "s":
                self.emit(_JS_SPACE if in_class else f"[{_JS_SPACE}]", 2)
            elif ch == "S":
                if in_class:
                    raise _Refused("has \\S inside [...]; write the characters to allow instead")
                self.emit(f"[^{_JS_SPACE}]", 2)
            else:
                self.emit("\\" + ch, 2)
            return True
        if ch in _CONTROL_ESCAPES:
            self.emit(_CONTROL_ESCAPES[ch], 2)
            return True
        if ch == "x":
            self.emit(f"\\x{{{_hex2(self.text, self.at + 2):02X}}}", 4)
            return True
        if ch in "pP":
            end = self.text.find("}", self.at)
            name = self.text[self.at + 3:end] if self.text[self.at + 2:self.at + 3] == "{" and end > 0 else None
            if name not in _CATEGORIES:
                raise _Refused(f"has \\{ch} without a Unicode category like \\{ch}{{L}} (letters) or \\{ch}{{Nd}} "
                               "(digits)")
            self.emit(self.text[self.at:end + 1], end + 1 - self.at)
            return True
        if ch in _SYNTAX or (in_class and ch == "-"):
            self.emit("\\" + ch, 2)
            return True
        raise _Refused(f"has \\{ch}, which is not part of the pattern language; write the character without "
                       "the \\, or see the list of what patterns may use")

    def class_atom(self) -> tuple[int | None, str]:
        """One member of a class: its code point (None for \\d-style sets) and its RE2 spelling."""
        ch = self.text[self.at]
        if ch == "\\":
            start = self.at
            self.escape(in_class=True)
            spelled = self.out.pop()
            esc = self.text[start + 1]
            if esc in _SHORTHAND or esc in "pP":
                return None, spelled
            if esc == "x":
                return _hex2(self.text, start + 2), spelled
            if esc in _CONTROL_ESCAPES:
                return ord({"n": "\n", "r": "\r", "t": "\t", "f": "\f"}[esc]), spelled
            return ord(esc), spelled
        if ch == "[":
            raise _Refused("has [ inside [...] (POSIX classes like [[:alpha:]] are not supported); write \\[ for "
                           "the character itself")
        self.at += 1
        return ord(ch), ch

    def char_class(self) -> None:
        self.at += 1
        parts = ["["]
        if self.at < len(self.text) and self.text[self.at] == "^":
            parts.append("^")
            self.at += 1
        if self.at < len(self.text) and self.text[self.at] == "]":
            raise _Refused("has an empty [] or [^]; the browser and the server read it differently")
        while True:
            if self.at >= len(self.text):
                raise _Refused("opens a [ that is never closed")
            if self.text[self.at] == "]":
                self.at += 1
                break
            low, spelled = self.class_atom()
            parts.append(spelled)
            if self.text[self.at:self.at + 1] == "-" and self.text[self.at + 1:self.at + 2] not in ("]", ""):
                self.at += 1
                high, spelled_high = self.class_atom()
                if low is None or high is None:
                    raise _Refused("has a range in [...] that starts or ends with a set like \\d; write the "
                                   "characters instead")
                if high < low:
                    raise _Refused(f"has the range {chr(low)}-{chr(high)} in [...] whose end comes before its start")
                parts.append("-" + spelled_high)
            elif self.text[self.at:self.at + 1] == "-":
                parts.append("\\-")
                self.at += 1
        self.out.append("".join(parts) + "]")

    def group(self) -> None:
        if self.text.startswith("(?:", self.at):
            self.depth += 1
            self.busy.append(False)
            self.emit("(?:", 3)
            return
        if self.text.startswith("(?", self.at):
            rest = self.text[self.at + 2:self.at + 4]
            if rest[:1] in ("=", "!") or rest in ("<=", "<!"):
                raise _Refused("uses a look-ahead or look-behind ((?=, (?!, (?<=, (?<!), which cannot be checked "
                               "quickly; remove it")
            if rest[:1] in ("P", "<"):
                raise _Refused("uses a named group; write (...) or (?:...) instead")
            raise _Refused("uses a (? construction (like the flags (?i)); only (?:...) is supported")
        self.depth += 1
        self.busy.append(False)
        self.emit("(")


def _options() -> Any:
    options = re2.Options()
    options.max_mem = 8 << 20  # bounds the compiled program, so a pattern cannot eat memory either
    return options


@lru_cache(maxsize=512)
def to_re2(pattern: str) -> Any:
    """The compiled RE2 program for an accepted pattern, anchored at both ends (raises ValueError)."""
    spelled = _Scanner(pattern).run()
    try:
        return re2.compile(f"^(?:{spelled})$", options=_options())
    except re2.error as exc:
        raise _Refused(f"cannot be read ({exc})") from None
    except UnicodeEncodeError:
        raise _Refused("has characters that are not valid text") from None


@lru_cache(maxsize=512)
def browser_safe(pattern: str) -> bool:
    """Whether a browser may run the pattern too: no repeated group that itself repeats or has
    alternatives (like ``(a+)+`` or ``(a|b)*``), which backtracking engines can take minutes over.
    Other accepted patterns are checked on the server only."""
    scanner = _Scanner(pattern)
    scanner.run()
    return not scanner.nested


def check_pattern(raw: Any) -> str:
    """The pattern itself if it is in the accepted syntax; else ValueError completing "The pattern ..."."""
    if not isinstance(raw, str) or not raw:
        raise ValueError("must be a regular expression (text)")
    if len(raw) > MAX_PATTERN_LENGTH:
        raise ValueError(f"must be at most {MAX_PATTERN_LENGTH} characters")
    try:
        to_re2(raw)
    except ValueError as exc:
        raise ValueError(f"is not a valid regular expression here: it {exc}") from None
    return raw


_MASK_RE = re.compile(r"[A-Za-z0-9 _/.-]*#[A-Za-z0-9 _/.#-]*")


def pattern_from_mask(text: str) -> str | None:
    """A pattern for an example written with # for each digit (`ORD-#####` becomes ORD- and five digits), or
    None when `text` is not such an example. People write masks like this; taken as a regular expression it
    would match only the literal text `ORD-#####` and refuse every real number."""
    text = text.strip()
    if not _MASK_RE.fullmatch(text):
        return None
    out = []
    for run in re.finditer(r"#+|[^#]+", text):
        part = run.group(0)
        if part.startswith("#"):
            out.append(r"\d" if len(part) == 1 else rf"\d{{{len(part)}}}")
        else:
            out.append(part.replace(".", r"\."))
    return "".join(out)


def full_match(pattern: str, value: str) -> bool:
    """Whether the whole value matches the pattern; linear in the value's length whatever the pattern."""
    return to_re2(pattern).search(value) is not None
