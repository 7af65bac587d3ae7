"""Server-sent events, read as an EventSource reads them (the HTML standard's parsing rules), from a byte stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Iterator, List, Optional


@dataclass(frozen=True)
class Event:
    #: The event's type: ``message`` when the server named none.
    event: str
    #: Its ``data:`` lines, joined with newlines.
    data: str
    id: Optional[str] = None


def read_events(stream: IO[bytes]) -> Iterator[Event]:
    """
    The events of ``stream`` as they arrive. A line ends at LF, CRLF or CR; ``:`` lines are comments (keep-alives);
    fields other than ``event``, ``data`` and ``id`` are ignored; an event is dispatched at the blank line after it,
    and one the stream ends in the middle of is dropped. Text is UTF-8, bad bytes read as U+FFFD.
    """
    event = ""
    data: List[str] = []
    last_id: Optional[str] = None
    first = True
    while True:
        raw = stream.readline()
        if not raw:
            return
        if first:
            raw = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
            first = False
        text = raw.decode("utf-8", "replace")
        if text.endswith("\r\n"):
            text = text[:-2]
        elif text.endswith("\n") or text.endswith("\r"):
            text = text[:-1]
        for line in text.split("\r"):
            if line == "":
                if data:
                    yield Event(event or "message", "\n".join(data), last_id)
                event, data = "", []
                continue
            if line.startswith(":"):
                continue
            name, sep, value = line.partition(":")
            if sep and value.startswith(" "):
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id" and "\0" not in value:
                last_id = value
