"""The thread bridge: blocking generators as async iterators that stop
cleanly on break, aclose() and cancellation; cancellable blocking calls;
progress events delivered on the loop thread in order; no threads left."""
from __future__ import annotations

import ast
import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import neuro_compat
from neuro_compat._bridge import (
    Bridge,
    CancelToken,
    OperationCancelled,
    ProgressRelay,
)
from neuro_compat._utils import AsyncIteratorContext
from tests.neuro_compat.neuro_helpers import run, wait_no_workers


class Source:
    """A blocking generator that records what happened to it."""

    def __init__(self, count: int, delay: float = 0.0) -> None:
        self.count = count
        self.delay = delay
        self.produced = 0
        self.closed = False
        self.threads: set[str] = set()

    def __iter__(self) -> Iterator[int]:
        try:
            for i in range(self.count):
                self.threads.add(threading.current_thread().name)
                if self.delay:
                    time.sleep(self.delay)
                self.produced += 1
                yield i
        finally:
            self.closed = True


def test_iterate_all_break_aclose_and_cancel() -> None:
    async def main() -> None:
        bridge = Bridge(4)
        try:
            source = Source(1000)
            async with AsyncIteratorContext(bridge.iterate(iter(source), batch=10)) as it:
                assert [x async for x in it] == list(range(1000))
            assert source.closed
            assert all(name.startswith("neuro-compat") for name in source.threads)

            source = Source(1000)
            async with AsyncIteratorContext(bridge.iterate(iter(source), batch=10)) as it:
                async for x in it:
                    if x == 25:
                        break
            assert source.closed and source.produced <= 50  # one batch read ahead

            source = Source(1000)
            agen = bridge.iterate(iter(source), batch=1)
            assert await agen.__anext__() == 0
            await agen.aclose()  # type: ignore[attr-defined]
            assert source.closed

            source = Source(1000, delay=0.01)

            async def consume() -> None:
                async with AsyncIteratorContext(bridge.iterate(iter(source), 1)) as it:
                    async for _ in it:
                        pass
            task = asyncio.ensure_future(consume())
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert source.closed and source.produced < 1000
        finally:
            await bridge.aclose()
    run(main())
    assert wait_no_workers() == []


def test_many_open_iterators_do_not_starve_the_pool() -> None:
    async def main() -> None:
        bridge = Bridge(2)
        try:
            iterators = [AsyncIteratorContext(bridge.iterate(iter(Source(5)), batch=1))
                         for _ in range(20)]
            firsts = [await it.__anext__() for it in iterators]  # all open at once
            assert firsts == [0] * 20
            assert await bridge.run(lambda: "a plain call still runs") == \
                "a plain call still runs"
            for it in iterators:
                await it.aclose()
        finally:
            await bridge.aclose()
    run(main())


def test_run_cancellable_stops_the_worker() -> None:
    stopped = threading.Event()

    def long_job(token: CancelToken) -> None:
        try:
            for _ in range(1000):
                token.check()
                time.sleep(0.01)
        except OperationCancelled:
            stopped.set()
            raise

    async def main() -> None:
        bridge = Bridge(2)
        try:
            task = asyncio.ensure_future(bridge.run_cancellable(long_job))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert stopped.is_set()  # the worker stopped before the cancel returned
        finally:
            await bridge.aclose()
    run(main())


def test_feed_hands_async_data_to_a_worker() -> None:
    async def main() -> None:
        bridge = Bridge(2)
        try:
            async def source() -> AsyncIterator[bytes]:
                for i in range(5):
                    await asyncio.sleep(0)
                    yield bytes([i])
            assert await bridge.feed(lambda chunks: b"".join(chunks), source()) == \
                bytes(range(5))

            async def failing() -> AsyncIterator[bytes]:
                yield b"x"
                raise KeyError("source failed")
            with pytest.raises(KeyError):
                await bridge.feed(lambda chunks: b"".join(chunks), failing())

            async def endless() -> AsyncIterator[bytes]:
                while True:
                    await asyncio.sleep(1)
                    yield b""
            task = asyncio.ensure_future(bridge.feed(lambda c: list(c), endless()))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            await bridge.aclose()
    run(main())
    assert wait_no_workers() == []


def test_progress_relay_order_thread_and_errors() -> None:
    class Target:
        def __init__(self) -> None:
            self.seen: list[tuple[int, int]] = []

        def step(self, data: int) -> None:
            self.seen.append((data, threading.get_ident()))
            if data == 7:
                raise ValueError("callback failed")

    async def main() -> None:
        bridge = Bridge(2)
        try:
            target = Target()
            token = CancelToken()
            relay = ProgressRelay(target, token)

            def work(tok: CancelToken) -> int:
                for i in range(5):
                    relay.emit("step", i)
                return 42
            assert await bridge.run_cancellable(work, token) == 42
            # delivered before the result, in order, on the loop thread
            assert target.seen == [(i, threading.get_ident()) for i in range(5)]
            relay.raise_error()

            relay = ProgressRelay(target, token)

            def failing(tok: CancelToken) -> None:
                for i in range(6, 100):
                    tok.check()
                    relay.emit("step", i)
                    time.sleep(0.001)
            with pytest.raises(OperationCancelled):
                await bridge.run_cancellable(failing, token)
            with pytest.raises(ValueError, match="callback failed"):
                relay.raise_error()
            assert token.cancelled
        finally:
            await bridge.aclose()
    run(main())


def test_bridge_refuses_zero_workers_and_closes_twice() -> None:
    with pytest.raises(ValueError):
        Bridge(0)

    async def main() -> None:
        bridge = Bridge(1)
        await bridge.run(lambda: None)
        await bridge.aclose()
        await bridge.aclose()
        assert bridge.closed
    run(main())


def test_closing_the_bridge_stops_open_iterators() -> None:
    source = Source(1000, delay=0.001)

    async def main() -> None:
        bridge = Bridge(2)
        it = AsyncIteratorContext(bridge.iterate(iter(source), batch=4))
        assert await it.__anext__() == 0
        await bridge.aclose()  # while the iterator is open
        assert source.closed
        with pytest.raises(RuntimeError, match="closed"):
            async for _ in it:
                pass
    run(main())
    assert wait_no_workers() == []


def test_an_abandoned_iterator_does_not_hang_loop_shutdown() -> None:
    source = Source(10**9)
    bridge_box: list[Bridge] = []

    async def main() -> None:
        bridge = Bridge(2)
        bridge_box.append(bridge)
        it = AsyncIteratorContext(bridge.iterate(iter(source), batch=2))
        assert await it.__anext__() == 0
        # returns without closing it: asyncio.run's shutdown must finish it
    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 5
    assert source.closed
    bridge_box[0]._pool.shutdown(wait=True)
    assert wait_no_workers() == []


# What crosses between the event loop and threads: handing work to a thread
# from the loop, or calling back into the loop from a thread.
_CROSSINGS = ("run_in_executor", "to_thread", "call_soon_threadsafe",
              "run_coroutine_threadsafe", "ThreadPoolExecutor")


def test_only_the_bridge_crosses_between_loop_and_threads() -> None:
    # _bridge's docstring claims it; a crossing elsewhere would bypass its
    # bounded pool and its cancellation.
    package = Path(neuro_compat.__file__).parent
    crossing = {}
    for path in sorted(package.rglob("*.py")):
        names = {node.attr if isinstance(node, ast.Attribute) else node.id
                 for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, (ast.Attribute, ast.Name))}
        if names & set(_CROSSINGS):
            crossing[path.relative_to(package).as_posix()] = sorted(names & set(_CROSSINGS))
    assert crossing == {"_bridge.py": ["call_soon_threadsafe", "run_coroutine_threadsafe",
                                       "run_in_executor"]}
