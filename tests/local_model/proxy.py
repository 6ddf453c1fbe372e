"""A recording TCP proxy on loopback: every byte between a client and the model server is kept.

Pointing the copilot's OPENAI_BASE_URL at the proxy shows exactly what left the
process (invariant 3: no contact data in any request) and what the server answered
(its reported usage), whatever client code sent it. Exchanges are parsed back out
of the raw bytes with h11 (which undoes chunked encoding).
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from typing import Any

import h11

__all__ = ["RecordingProxy", "Exchange"]


@dataclass(frozen=True)
class Exchange:
    """One request and the response to it (status 0 and no body if it has not ended yet)."""

    method: str
    target: str
    body: bytes
    status: int
    response: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def finished(self) -> bool:
        """The server sent its whole answer (a stream ends with [DONE]); the client may have stopped
        reading earlier, for example when its stall timeout fired on a slow machine."""
        if self.content_type.startswith("text/event-stream"):
            return b"data: [DONE]" in self.response
        return self.status == 200 and bool(self.response)

    def usage(self) -> dict[str, int] | None:
        """The usage the server reported: in the JSON body, or in a streamed chunk."""
        if self.content_type.startswith("text/event-stream"):
            found = None
            for line in self.response.decode("utf-8", "replace").splitlines():
                if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
                    found = json.loads(line[5:]).get("usage") or found
            return found
        try:
            return json.loads(self.response).get("usage")
        except (ValueError, AttributeError):
            return None

    def content(self) -> str:
        """The answer text: the message content, or the streamed deltas joined."""
        if self.content_type.startswith("text/event-stream"):
            parts = []
            for line in self.response.decode("utf-8", "replace").splitlines():
                if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
                    for choice in json.loads(line[5:]).get("choices") or []:
                        parts.append((choice.get("delta") or {}).get("content") or "")
            return "".join(parts)
        choices = json.loads(self.response).get("choices") or [{}]
        return (choices[0].get("message") or {}).get("content") or ""


class RecordingProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._streams: list[tuple[bytearray, bytearray]] = []  # (sent, received) per client connection
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            # Kept-alive connections still have their pumps waiting: end them while the loop runs.
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        sent, received = bytearray(), bytearray()
        with self._lock:
            self._streams.append((sent, received))
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._upstream)

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: bytearray) -> None:
            try:
                while data := await reader.read(65536):
                    with self._lock:
                        record.extend(data)
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        await asyncio.gather(pump(client_reader, upstream_writer, sent),
                             pump(upstream_reader, client_writer, received))

    def exchanges(self) -> list[Exchange]:
        """Every complete request so far with its response, in order per connection."""
        with self._lock:
            streams = [(bytes(a), bytes(b)) for a, b in self._streams]
        found: list[Exchange] = []
        for sent, received in streams:
            requests = _parse(h11.SERVER, sent)
            responses = _parse(h11.CLIENT, received, methods=[r[0] for r in requests])
            for i, (method, target, _, body) in enumerate(requests):
                status, headers, answer = responses[i][1:] if i < len(responses) else (0, {}, b"")
                found.append(Exchange(method, target, body, int(status), answer, headers.get("content-type", "")))
        return found

    def chat_exchanges(self) -> list[Exchange]:
        return [e for e in self.exchanges() if e.target.endswith("/chat/completions")]


def _parse(role: type[h11.SERVER] | type[h11.CLIENT], raw: bytes,
           methods: list[str] | None = None) -> list[tuple[Any, Any, dict[str, str], bytes]]:
    """The complete messages in one direction of a connection: (method, target or status, headers, body).

    h11 reads a response only after the matching request was "sent", and a request
    only while it can answer it, so each side is played back along the way.
    """
    conn = h11.Connection(role)
    pending = list(methods or [])

    def play_our_side() -> bool:
        if role is h11.CLIENT:
            if not pending:
                return False
            conn.send(h11.Request(method=pending.pop(0), target="/", headers=[("host", "proxy")]))
            conn.send(h11.EndOfMessage())
        return True

    messages: list[tuple[Any, Any, dict[str, str], bytes]] = []
    if not play_our_side():
        return messages
    conn.receive_data(raw)
    head: tuple[Any, Any, dict[str, str]] = ("", "", {})
    body = bytearray()
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            break
        if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
            break
        if event is h11.PAUSED:  # one exchange done; keep-alive carries the next
            conn.start_next_cycle()
            if not play_our_side():
                break
        elif isinstance(event, h11.Request):
            head, body = (event.method.decode(), event.target.decode(), _headers(event)), bytearray()
        elif isinstance(event, h11.Response):
            head, body = ("", event.status_code, _headers(event)), bytearray()
        elif isinstance(event, h11.Data):
            body.extend(event.data)
        elif isinstance(event, h11.EndOfMessage):
            messages.append((*head, bytes(body)))
            if role is h11.SERVER:
                conn.send(h11.Response(status_code=200, headers=[("content-length", "0")]))
                conn.send(h11.EndOfMessage())
    return messages


def _headers(event: h11.Request | h11.Response) -> dict[str, str]:
    return {name.decode().lower(): value.decode() for name, value in event.headers}
