"""Stream the ``reply`` string out of a JSON answer while the model is still writing the rest.

Round one answers ``{"reply": "...", "questions": [...], "plan": {...}}`` with ``reply``
first (the response format puts it there), so the marketer reads the answer while the
plan is generated: one call, no separate chat completion.
"""

from __future__ import annotations

import re

__all__ = ["ReplyStream"]

_START = re.compile(r'\s*\{\s*"reply"\s*:\s*"')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class ReplyStream:
    """Feed the answer's text as it arrives; ``feed`` returns the newly decoded part of ``reply``.

    If the answer does not start with the reply (a server that ignores field order), nothing
    streams and ``done`` is False; the caller then sends the parsed reply in one piece.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._pos: int | None = None  # index in the buffer of the next undecoded reply character
        self.failed = False
        self.done = False
        self.text = ""

    def feed(self, chunk: str) -> str:
        if self.failed or self.done or not chunk:
            self._buffer += chunk
            return ""
        self._buffer += chunk
        if self._pos is None:
            match = _START.match(self._buffer)
            if match is None:
                stripped = self._buffer.lstrip()
                # Still a possible prefix of '{"reply": "'? Wait for more; otherwise give up streaming.
                if len(stripped) < 12 and re.fullmatch(r'\{?\s*"?r?e?p?l?y?"?\s*:?\s*', stripped or ""):
                    return ""
                self.failed = True
                return ""
            self._pos = match.end()
        return self._decode()

    def _decode(self) -> str:
        out: list[str] = []
        buf, i = self._buffer, self._pos or 0
        while i < len(buf):
            ch = buf[i]
            if ch == '"':
                self.done = True
                i += 1
                break
            if ch != "\\":
                out.append(ch)
                i += 1
                continue
            if i + 1 >= len(buf):
                break  # the escape continues in the next chunk
            code = buf[i + 1]
            if code in _ESCAPES:
                out.append(_ESCAPES[code])
                i += 2
                continue
            if code != "u":
                self.failed = True  # not JSON; the final parse will report it
                break
            if i + 6 > len(buf):
                break
            try:
                unit = int(buf[i + 2:i + 6], 16)
                if 0xD800 <= unit < 0xDC00:  # a surrogate pair needs the low half too
                    if i + 12 > len(buf):
                        break
                    low = int(buf[i + 8:i + 12], 16)
                    out.append(chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)))
                    i += 12
                else:
                    out.append(chr(unit))
                    i += 6
            except ValueError:  # not hex: not JSON either; the final parse will say so
                self.failed = True
                break
        self._pos = i
        piece = "".join(out)
        self.text += piece
        return piece
