"""A client's session with the exchange service: its REST calls (httpx) and its WebSocket
stream (websockets), as the live adapter uses them.

    session = ServiceSession("http://127.0.0.1:8000", api_key)
    session.get("/api/bonds")
    session.post("/api/orders", {"bond": "GSEC-2033", "side": "buy", "qty": 10, "type": "market"})
    for message in session.messages():    # quotes, trades, the clock and its own fills
        ...

A refusal (4xx) raises `ServiceRefusal` with the service's reason; a service that cannot be
reached, or answers 5xx, raises `LiveError`: both name the call.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

from sim.errors import BondlabError

STREAM_CLOSED = {"type": "closed"}  # what `messages` yields once the stream has ended


class LiveError(BondlabError):
    """The live adapter cannot go on: the service is unreachable, or refused to start it."""


class ServiceRefusal(LiveError):
    """The service refused one request (4xx); `status` and the reason in the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ServiceSession:
    """REST calls and the stream of one API key at one service."""

    def __init__(self, url: str, api_key: str, *, timeout_s: float = 10.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self._key = api_key
        self._http = httpx.Client(
            base_url=self.url, headers={"X-API-Key": api_key}, timeout=timeout_s
        )
        self._inbox: queue.Queue = queue.Queue()
        self._reader: threading.Thread | None = None
        self._socket = None

    def get(self, path: str, **params) -> Any:
        return self._call("GET", path, params=params or None)

    def post(self, path: str, body: dict | None = None) -> Any:
        return self._call("POST", path, json=body or {})

    def _call(self, method: str, path: str, **kwargs) -> Any:
        import httpx

        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise LiveError(f"{method} {self.url}{path}: {error}") from None
        if answer.status_code >= 500:
            raise LiveError(f"{method} {path}: the service failed ({answer.status_code})")
        if answer.status_code >= 400:
            raise ServiceRefusal(answer.status_code, f"{method} {path}: {_reason(answer)}")
        return answer.json()

    # --- the stream -----------------------------------------------------------------------

    def open_stream(self) -> None:
        """Connect the WebSocket stream; its messages queue up for `messages`."""
        from websockets.exceptions import InvalidStatus, WebSocketException
        from websockets.sync.client import connect

        where = "ws" + self.url.removeprefix("http") + "/api/stream"
        try:
            self._socket = connect(where, additional_headers={"X-API-Key": self._key})
        except (OSError, InvalidStatus, WebSocketException) as error:
            raise LiveError(f"stream {where}: {error}") from None
        self._reader = threading.Thread(target=self._read, daemon=True, name="stream")
        self._reader.start()

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for text in self._socket:
                self._inbox.put(json.loads(text))
        except ConnectionClosed:
            pass
        finally:
            self._inbox.put(STREAM_CLOSED)

    def messages(self, timeout_s: float) -> Iterator[dict]:
        """The stream's messages as they come; an empty dict when none came for `timeout_s`
        (so that the caller can check its clock and stop)."""
        while True:
            try:
                yield self._inbox.get(timeout=timeout_s)
            except queue.Empty:
                yield {}

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._reader.join(timeout=5)
            self._socket = None
        self._http.close()


def _reason(answer) -> str:
    try:
        detail = answer.json().get("detail")
    except ValueError:
        detail = answer.text
    return f"{answer.status_code} {detail}"
