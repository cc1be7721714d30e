"""The thread bridge: where the event loop meets threads.

cerulean is blocking (paramiko, requests, the local file system); the
neuro_sdk API is asyncio. Every crossing between the two goes through this
module: no other module of neuro_compat hands work to a thread from the
event loop or calls back into the loop from a thread (``test_neuro_bridge``
checks the source for it). Every blocking call runs in a bounded pool of
worker threads (:class:`~neuro_compat._workers.WorkerPool`) owned by one
:class:`Bridge` per cluster session:

- :meth:`Bridge.run` awaits one blocking call;
- :meth:`Bridge.run_cancellable` awaits a long blocking call that checks a
  :class:`CancelToken`; cancelling the awaiting task sets the token and waits
  until the worker has stopped, so no transfer goes on behind the caller's
  back;
- :meth:`Bridge.iterate` turns a blocking generator into an async iterator
  that pulls items in batches on worker threads (one batch read ahead) and
  closes the generator on ``aclose()``, ``break`` or cancellation; no thread
  is held while the consumer is slow, so many open iterators can never starve
  the pool;
- :meth:`Bridge.feed` hands an async iterator to a blocking consumer;
- :class:`ProgressRelay` carries progress events from worker threads to the
  event-loop thread, in order, and turns an exception raised by a user's
  progress callback into the failure of the operation;
- :class:`ThreadFeed` runs producers that may wait indefinitely (an ``exec``
  session's output) on threads of their own, outside the bounded pool.

This is not the only module that knows threads, but the only one that knows
both threads and the loop. Below this seam, blocking code may know about
threads, never about the loop: the worker pool itself (``_workers``),
objects the worker threads share, which guard their state with locks (the
sessions, ``ClusterJobs``), and the port forwarder (``jobs.ports``), which
a worker starts and which relays connections on threads of its own.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from typing_extensions import ParamSpec

from ._workers import WorkerPool

_T = TypeVar("_T")
_R = TypeVar("_R")
_P = ParamSpec("_P")

_POLL = 0.1  # seconds between checks for cancellation while waiting on the loop


class OperationCancelled(Exception):
    """Raised inside a worker thread when its :class:`CancelToken` is set."""


class CancelToken:
    """Tells a blocking operation running in a worker thread to stop.

    The operation calls :meth:`check` between units of work (a chunk, a
    file); the bridge calls :meth:`cancel` when the awaiting task is
    cancelled or a progress callback failed.
    """

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the operation to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`OperationCancelled` if cancellation was asked for."""
        if self._event.is_set():
            raise OperationCancelled()


class Bridge:
    """A bounded pool of worker threads serving one event loop.

    :param workers: the maximum number of worker threads.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        self._pool = WorkerPool(workers)
        self._closed = False
        # Blocking generators feeding live async iterators; touched only on
        # the loop thread.
        self._open_generators: set[Iterator[Any]] = set()
        self._live_iterators: set[AsyncGenerator[Any, None]] = set()

    async def run(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run ``fn(*args, **kwargs)`` in a worker thread and return its result.

        For short calls: if the awaiting task is cancelled the call still
        finishes in its thread, and its result is dropped.
        """
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args, **kwargs) if args or kwargs else fn
        return await loop.run_in_executor(self._pool, call)

    async def run_cancellable(self, fn: Callable[[CancelToken], _T],
                              token: CancelToken | None = None) -> _T:
        """Run ``fn(token)`` in a worker thread; stop it cleanly on cancel.

        When the awaiting task is cancelled, the token is set and this
        waits until ``fn`` has returned or raised (it checks the token
        between chunks), then re-raises the cancellation.

        :param fn: the blocking operation; it receives the token.
        :param token: a token to use (shared by several calls), or None.
        """
        loop = asyncio.get_running_loop()
        if token is None:
            token = CancelToken()
        fut = loop.run_in_executor(self._pool, fn, token)
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            token.cancel()
            await _wait_quietly(fut)
            raise

    def iterate(self, gen: Iterator[_T], batch: int = 128) -> AsyncIterator[_T]:
        """Feed an async iterator from a blocking generator.

        Items are pulled ``batch`` at a time in worker threads, one batch
        ahead of the consumer. Closing the async iterator (``aclose()``,
        leaving ``async with``, ``break`` inside it, cancellation) waits for
        the pull in flight and closes ``gen`` in a worker thread, so its
        ``finally`` blocks run and its resources are released.

        :param gen: the blocking generator; advanced by one thread at a time.
        :param batch: how many items one pull takes.
        """
        holder: list[AsyncGenerator[_T, None]] = []
        agen = self._pull(gen, batch, holder)
        # Held until it finishes: an iterator abandoned without aclose() must
        # still be there for asyncio.run() to close at loop shutdown (a
        # garbage-collected one would get a closing task that the shutdown
        # cancels before it runs, leaving the generator open).
        holder.append(agen)
        self._live_iterators.add(agen)
        return agen

    async def _pull(self, gen: Iterator[_T], batch: int,
                    holder: list[AsyncGenerator[_T, None]]) -> AsyncGenerator[_T, None]:
        loop = asyncio.get_running_loop()
        take = functools.partial(_take, gen, batch)
        self._open_generators.add(gen)
        pending: asyncio.Future[tuple[list[_T], bool]] | None = self._submit(loop, take)
        try:
            while pending is not None:
                try:
                    items, done = await asyncio.shield(pending)
                except asyncio.CancelledError:
                    if pending.cancelled() and self._closed:  # dropped by aclose()
                        pending = None
                        raise RuntimeError("the client is closed; its iterators "
                                           "stopped with it") from None
                    raise
                pending = None if done else self._submit(loop, take)
                for item in items:
                    yield item
        finally:
            self._live_iterators.discard(holder[0])
            if pending is not None:
                await _wait_quietly(pending)
            # Unless aclose() took it over (it closes open generators itself,
            # once the pool has drained), close the generator in a worker.
            if gen in self._open_generators:
                self._open_generators.discard(gen)
                close = getattr(gen, "close", None)
                if close is not None:
                    await _wait_quietly(loop.run_in_executor(self._pool, close))

    def _submit(self, loop: asyncio.AbstractEventLoop,
                fn: Callable[[], _R]) -> asyncio.Future[_R]:
        if self._closed:
            raise RuntimeError("the client is closed; its iterators stopped with it")
        return loop.run_in_executor(self._pool, fn)

    async def feed(self, consume: Callable[[Iterator[_T]], _R],
                   source: AsyncIterator[_T]) -> _R:
        """Run ``consume(items)`` in a worker thread, ``items`` being a
        blocking iterator over the async iterator ``source``.

        Each item is fetched on the loop when the worker asks for it, so a
        slow consumer slows the source down and nothing piles up. An
        exception of ``source`` is raised inside ``consume`` (at its
        ``next()``); cancelling the awaiting task stops both.

        :param consume: the blocking consumer, for example a file writer.
        :param source: the async producer, for example the caller's data.
        """
        loop = asyncio.get_running_loop()

        async def step() -> _T:
            return await source.__anext__()

        def items(token: CancelToken) -> Iterator[_T]:
            while True:
                pending = asyncio.run_coroutine_threadsafe(step(), loop)
                while True:
                    try:
                        item = pending.result(timeout=_POLL)
                        break
                    except concurrent.futures.TimeoutError:
                        if token.cancelled:
                            pending.cancel()
                            raise OperationCancelled() from None
                    except StopAsyncIteration:
                        return
                yield item

        return await self.run_cancellable(lambda token: consume(items(token)))

    async def aclose(self) -> None:
        """Stop the worker threads after the calls in flight; idempotent.

        Iterators still open stop too: their generators are closed (so their
        ``finally`` blocks release files and sessions) once the calls in
        flight are done.
        """
        if self._closed:
            return
        self._closed = True
        generators, self._open_generators = list(self._open_generators), set()
        self._live_iterators.clear()
        loop = asyncio.get_running_loop()
        # shutdown(wait=True) blocks, so it must not run on the loop thread.
        done = loop.create_future()

        def stop() -> None:
            try:
                self._pool.shutdown(wait=True, cancel_futures=True)
                for gen in generators:
                    with contextlib.suppress(Exception):  # best effort, all of them
                        gen.close()  # type: ignore[attr-defined]
            finally:
                loop.call_soon_threadsafe(_set_done, done)

        threading.Thread(target=stop, name="neuro-compat-shutdown", daemon=True).start()
        await _wait_quietly(done)

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` was called."""
        return self._closed


def _set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _take(gen: Iterator[_T], count: int) -> tuple[list[_T], bool]:
    items: list[_T] = []
    for _ in range(count):
        try:
            items.append(next(gen))
        except StopIteration:
            return items, True
    return items, False


async def _wait_quietly(fut: asyncio.Future[Any]) -> None:
    """Wait until ``fut`` is done, whatever it raises, even if cancelled.

    Used on the way out of a cancelled operation: the worker thread must
    have stopped before we let the cancellation propagate. Its own error is
    retrieved (so asyncio does not log it) and dropped, since the caller is
    already raising something else.
    """
    while not fut.done():
        try:
            await asyncio.wait([fut])
        except asyncio.CancelledError:
            continue  # cancelled again: the worker still has to stop first
    if not fut.cancelled():
        fut.exception()


class ProgressRelay:
    """Delivers progress events from worker threads on the loop thread.

    Worker threads call :meth:`emit`; the events reach the target's methods
    on the event-loop thread in the order they were emitted, before the
    operation's own result (both travel through the loop's FIFO of
    thread-safe callbacks). If a callback raises, the operation's token is
    cancelled and :meth:`raise_error` re-raises the callback's exception in
    the awaiting task.

    :param target: the user's progress object (any object with the event
        methods), or None for no reporting.
    :param token: the token of the operation to stop when a callback fails.
    """

    def __init__(self, target: Any, token: CancelToken) -> None:
        self._loop = asyncio.get_running_loop()
        self._target = target
        self.token = token
        self.error: BaseException | None = None

    @property
    def active(self) -> bool:
        """True when there is someone to report to."""
        return self._target is not None

    def emit(self, method: str, event: Any) -> None:
        """Queue ``target.<method>(event)`` for the loop thread (thread-safe)."""
        if self._target is not None:
            self._loop.call_soon_threadsafe(self._deliver, method, event)

    def call(self, method: str, event: Any) -> None:
        """Call ``target.<method>(event)`` now; only on the loop thread."""
        if self._target is not None and self.error is None:
            getattr(self._target, method)(event)

    def _deliver(self, method: str, event: Any) -> None:
        if self.error is not None:
            return  # the operation is stopping; later events are moot
        try:
            getattr(self._target, method)(event)
        except Exception as e:  # noqa: BLE001 - re-raised in the awaiting task
            self.error = e
            self.token.cancel()

    def raise_error(self) -> None:
        """Re-raise the exception of a failed callback, if any."""
        if self.error is not None:
            raise self.error


class ThreadFeed(Generic[_T]):
    """Blocking producers, each on a thread of its own, feeding one queue that
    the event loop reads.

    For producers that wait on somebody else for as long as it takes (the
    output of an interactive ``exec`` session): on the bounded worker threads
    a few quiet sessions could hold every worker that other calls need. Each
    producer is called once with a thread-safe ``put``; when it returns (or
    raises), its end is put as None. Threads are daemons, named
    ``<name>-1``, ``<name>-2``, ... in the order of the producers.

    Make it on the loop thread.

    :param producers: the blocking producers.
    :param name: the prefix of the threads' names.
    """

    def __init__(self, producers: Sequence[Callable[[Callable[[_T], None]], None]],
                 name: str) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[_T | None] = asyncio.Queue()
        self._threads = [threading.Thread(target=self._produce, args=(producer,),
                                          name=f"{name}-{i}", daemon=True)
                         for i, producer in enumerate(producers, 1)]
        for thread in self._threads:
            thread.start()

    def _produce(self, producer: Callable[[Callable[[_T], None]], None]) -> None:
        try:
            producer(self._put)
        finally:
            self._put(None)

    def _put(self, item: _T | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    async def get(self) -> _T | None:
        """The next item, in the order put; None each time a producer ended."""
        return await self._queue.get()

    def join(self, timeout: float) -> None:
        """Wait until the producers' threads have ended, at most ``timeout``
        seconds for each (blocking: call it in a worker thread)."""
        for thread in self._threads:
            thread.join(timeout=timeout)
