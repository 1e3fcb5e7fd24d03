"""Send one client every event it asked for: first from the log, then live from the hub.

A client resuming with ``after=P`` is first sent what the log holds after ``P`` up to the
hub's position, page by page from the store; when it has caught up, it is subscribed to the
hub in the same step of the event loop that sees it caught up, so the next event the hub
publishes is the next one it gets. Nothing is skipped and nothing is sent twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

import anyio
from anyio import to_thread
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.http.streams.hub import (
    STORE_FAILED,
    Closing,
    HubUnavailableError,
    StreamClosedError,
    StreamHub,
    Subscriber,
)
from api.http.streams.messages import StreamMessage
from api.http.streams.topics import Rule

CATCH_UP_PAGE = 500


@dataclass(frozen=True)
class StreamRequest:
    """What one client asked for: the messages it wants (and the event types they can be,
    ``None`` for any), where to resume (``None``: from now) and how far it may fall behind."""

    wanted: Rule
    types: frozenset[str] | None
    after: int | None
    queue_limit: int


def read_page(
    hub: StreamHub, after: int, stop: int, request: StreamRequest
) -> tuple[list[StreamMessage], int]:
    """The wanted messages of one page of the log after ``after`` (up to ``stop``), and the
    position read up to (``stop`` once nothing is left). Whatever stops the read (the store
    down, a position trimmed and no archive) is a ``HubUnavailableError`` naming it."""
    topics = sorted(request.types) if request.types is not None else ()
    try:
        pages = hub.store.read_notifications(
            after, stop=stop, batch_size=CATCH_UP_PAGE, topics=topics
        )
        for page in pages:
            messages = [hub.cache.message(notification) for notification in page]
            return [m for m in messages if request.wanted(m)], page[-1].id
    except HubUnavailableError:
        raise
    except Exception as error:  # the client is told why in its close reason
        raise HubUnavailableError(f"cannot read the log after {after}: {error}") from error
    return [], stop


async def deliver(websocket: WebSocket, hub: StreamHub, request: StreamRequest) -> None:
    """Send until the client leaves; raises ``StreamClosedError`` when the hub drops it."""
    position = hub.position if request.after is None else request.after
    while True:
        target = hub.position
        if position >= target:
            subscriber = hub.subscribe(request.wanted, position, request.queue_limit)
            break
        messages, position = await to_thread.run_sync(read_page, hub, position, target, request)
        await _send(websocket, messages)
    try:
        await _send_live(websocket, subscriber)
    finally:
        hub.unsubscribe(subscriber)


async def _send_live(websocket: WebSocket, subscriber: Subscriber) -> None:
    while True:
        await _send(websocket, await subscriber.next_batch())


async def _send(websocket: WebSocket, messages: list[StreamMessage]) -> None:
    for message in messages:
        await websocket.send_text(message.text)


async def until_client_leaves(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends until it disconnects."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def serve_client(
    websocket: WebSocket,
    hub: StreamHub,
    request: StreamRequest,
    *,
    watchdog: Callable[[], Awaitable[Closing]] | None = None,
) -> None:
    """Deliver to the client until it leaves, the hub drops it or ``watchdog`` returns (a
    revoked key): then close with the hub's or the watchdog's code and reason."""
    closing: Closing | None = None

    async with anyio.create_task_group() as group:

        async def send() -> None:
            nonlocal closing
            try:
                await deliver(websocket, hub, request)
            except StreamClosedError as closed:
                closing = closed.closing
            except HubUnavailableError as failed:
                closing = Closing(STORE_FAILED, str(failed)[:120])
            except (WebSocketDisconnect, OSError):
                pass  # the client left while a message was on its way
            group.cancel_scope.cancel()

        async def watch() -> None:
            await until_client_leaves(websocket)
            group.cancel_scope.cancel()

        async def guard(watchdog: Callable[[], Awaitable[Closing]]) -> None:
            nonlocal closing
            closing = await watchdog()
            group.cancel_scope.cancel()

        group.start_soon(send)
        group.start_soon(watch)
        if watchdog is not None:
            group.start_soon(guard, watchdog)
    if closing is not None:
        with suppress(WebSocketDisconnect, OSError, RuntimeError):
            await websocket.close(closing.code, closing.reason)
