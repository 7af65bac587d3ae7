"""The server-sent events reader the log stream is read with."""

from __future__ import annotations

import io
import unittest

from switchyard.sse import Event, read_events


def events(data: bytes) -> list[Event]:
    return list(read_events(io.BytesIO(data)))


class ReadEvents(unittest.TestCase):
    def test_reads_events_as_an_event_source_does(self) -> None:
        stream = b"\xef\xbb\xbfdata: one\n\n: keep-alive\n\ndata:  two spaces\n\ndata\n\nevent: end\ndata: {}\n\n"
        self.assertEqual(events(stream), [Event("message", "one"), Event("message", " two spaces"), Event("message", ""), Event("end", "{}")])

    def test_joins_data_lines_and_takes_every_line_ending(self) -> None:
        self.assertEqual(events(b"data: a\r\ndata: b\r\n\r\ndata: c\rdata: d\r\r\n"), [Event("message", "a\nb"), Event("message", "c\nd")])

    def test_drops_an_event_the_stream_ends_in_and_reads_bad_utf8_as_replacement(self) -> None:
        self.assertEqual(events(b"data: caf\xc3\xa9 \xff\n\ndata: cut"), [Event("message", "caf\u00e9 \ufffd")])
        self.assertEqual(events(b"id: 7\ndata: x\n\n")[0].id, "7")


if __name__ == "__main__":
    unittest.main()
