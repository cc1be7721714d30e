"""The worker threads behind :class:`~neuro_compat._bridge.Bridge`.

A pool of plain threads, and nothing of the event loop: the bridge hands
work to it through ``loop.run_in_executor``, as it would to a
``ThreadPoolExecutor``.
"""
from __future__ import annotations

import collections
import concurrent.futures
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

_R = TypeVar("_R")

class WorkerPool(concurrent.futures.Executor):
    """A bounded pool of worker threads that reuses the most recently idle one.

    Like ``ThreadPoolExecutor``, but work goes straight to the worker that
    went idle last (still hot in the CPU caches and not yet descheduled),
    instead of to whichever of the waiting threads the OS wakes: a short call
    then costs one thread switch there and one back. Threads start on demand,
    up to ``workers``; extra work waits in a FIFO. Workers are daemon threads,
    so a client that is never closed cannot keep the interpreter from
    exiting; :meth:`shutdown` stops them.

    :param workers: the maximum number of threads.
    """

    def __init__(self, workers: int) -> None:
        self._max = workers
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []  # a stack: the last idle is used first
        self._threads: list[threading.Thread] = []
        self._backlog: collections.deque[_WorkItem] = collections.deque()
        self._shutdown = False

    def submit(self, fn: Callable[..., _R], /, *args: Any,
               **kwargs: Any) -> concurrent.futures.Future[_R]:
        """Schedule ``fn(*args, **kwargs)``; see ``Executor.submit``."""
        future: concurrent.futures.Future[_R] = concurrent.futures.Future()
        item = _WorkItem(future, functools.partial(fn, *args, **kwargs))
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if self._idle:
                self._idle.pop().give(item)
            elif len(self._threads) < self._max:
                worker = _Worker(self, item)
                thread = threading.Thread(target=worker.run, daemon=True,
                                          name=f"neuro-compat-{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
            else:
                self._backlog.append(item)
        return future

    def _next(self, worker: _Worker) -> _WorkItem | None | bool:
        """Called by a worker that finished: more work, None to sleep until
        given some, or False to stop (after shutdown)."""
        with self._lock:
            if self._backlog:
                return self._backlog.popleft()
            if self._shutdown:
                return False
            self._idle.append(worker)
            return None

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the workers once their current work is done.

        :param wait: wait until every worker thread has ended.
        :param cancel_futures: cancel work that has not started.
        """
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while self._backlog:
                    self._backlog.popleft().future.cancel()
            idle, self._idle = self._idle, []
            threads = list(self._threads)
        for worker in idle:
            worker.give(None)
        if wait:
            for thread in threads:
                thread.join()


class _WorkItem:
    __slots__ = ("fn", "future")

    def __init__(self, future: concurrent.futures.Future[Any], fn: Callable[[], Any]) -> None:
        self.future = future
        self.fn = fn

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.fn()
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting side
            self.future.set_exception(e)
        else:
            self.future.set_result(result)


class _Worker:
    """One worker thread; it sleeps on its own lock between work items."""

    __slots__ = ("_item", "_pool", "_wake")

    def __init__(self, pool: WorkerPool, first: _WorkItem) -> None:
        self._pool = pool
        self._item: _WorkItem | None = first
        self._wake = threading.Lock()
        self._wake.acquire()  # held: acquiring again sleeps until give()

    def give(self, item: _WorkItem | None) -> None:
        self._item = item
        self._wake.release()

    def run(self) -> None:
        item = self._item
        while item is not None:
            item.run()
            del item  # drop the work (and its result) before sleeping
            following = self._pool._next(self)
            if following is False:
                return
            if following is None:
                self._wake.acquire()  # until give(): work, or None to stop
                following = self._item
            item = following if isinstance(following, _WorkItem) else None
            self._item = None
