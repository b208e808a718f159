"""Exercise 10, performance: an echo that skips the per-message database clean-up."""

from __future__ import annotations

import asyncio

from ._common import ExerciseHint, connect, missing_await_hint, not_written, passed, run, stop, unawaited_coroutines


def check_database_free_echo(consumer_class) -> None:
    """Exercise 10: an echo that skips the per-message clean-up, and still rejects unknown events."""
    import channels.consumer

    cleanups = []

    async def counting_cleanup():
        cleanups.append(1)

    async def conversation():
        from channels.testing import WebsocketCommunicator

        communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/echo/")
        replies = []
        connected, _ = await connect(communicator)
        try:
            if connected:
                for n in range(5):
                    await communicator.send_json_to({"n": n})
                    replies.append(await communicator.receive_json_from(timeout=0.5))
        except (asyncio.TimeoutError, TimeoutError):  # nothing handled a message
            pass
        finally:
            await stop(communicator, disconnect=bool(connected))
        return connected, replies

    original = channels.consumer.aclose_old_connections
    channels.consumer.aclose_old_connections = counting_cleanup
    try:
        with unawaited_coroutines() as unawaited:
            connected, replies = run(conversation())
    except NotImplementedError:
        raise not_written("FastEcho") from None
    except ValueError as error:
        raise ExerciseHint(
            f"the connection failed with ValueError: {error}. The handler of "
            "'websocket.connect' is websocket_connect: find it with get_handler_name(message), "
            "which turns dots into underscores"
        ) from None
    finally:
        channels.consumer.aclose_old_connections = original
    if unawaited:
        raise missing_await_hint(unawaited, "FastEcho.dispatch")
    if not connected or replies != [{"n": n} for n in range(5)]:
        raise ExerciseHint(
            f"the echo is broken (connected={connected}, replies={replies}): dispatch must still "
            "call the handler, await handler(message)"
        )
    if cleanups:
        raise ExerciseHint(
            f"for 5 messages the clean-up still ran {len(cleanups)} times: override dispatch "
            "without calling super().dispatch(), which is where it happens"
        )
    try:
        run(consumer_class().dispatch({"type": "no.such.event"}))
    except ValueError:
        pass
    except Exception as error:
        raise ExerciseHint(
            f"an event with no handler raised {type(error).__name__}: raise ValueError, as "
            "Channels does, so mistakes in event types do not pass silently"
        ) from None
    else:
        raise ExerciseHint("an event with no handler was ignored: raise ValueError, as Channels does")
    passed("FastEcho works: 5 echoes, no clean-up hop, unknown events still raise")
