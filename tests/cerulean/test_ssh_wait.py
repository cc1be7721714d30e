"""ChannelWaiter: wakes when either stream of a channel has data or ends."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from paramiko.buffered_pipe import BufferedPipe

from cerulean._ssh.wait import ChannelWaiter


def fake_channel() -> SimpleNamespace:
    """The two paramiko buffers a Channel reads stdout and stderr from."""
    return SimpleNamespace(in_buffer=BufferedPipe(), in_stderr_buffer=BufferedPipe())


def waited(waiter: ChannelWaiter, timeout: float) -> float:
    started = time.monotonic()
    waiter.wait(timeout)
    return time.monotonic() - started


def test_waits_for_the_timeout_when_nothing_arrives() -> None:
    waiter = ChannelWaiter(fake_channel())
    assert 0.15 <= waited(waiter, 0.2) < 1.0


def test_data_on_one_stream_stays_ready_while_the_other_is_emptied() -> None:
    chan = fake_channel()
    waiter = ChannelWaiter(chan)
    chan.in_stderr_buffer.feed(b"err")
    chan.in_buffer.feed(b"out")
    assert chan.in_stderr_buffer.read(100) == b"err"
    assert waited(waiter, 5.0) < 0.1  # stdout still has data
    assert chan.in_buffer.read(100) == b"out"
    assert waited(waiter, 0.1) >= 0.05  # now nothing is left


def test_data_from_another_thread_wakes_the_waiter() -> None:
    chan = fake_channel()
    waiter = ChannelWaiter(chan)
    feeder = threading.Timer(0.1, chan.in_buffer.feed, args=(b"late",))
    feeder.start()
    assert waited(waiter, 5.0) < 2.0
    feeder.join()


def test_end_of_a_stream_wakes_the_waiter() -> None:
    chan = fake_channel()
    waiter = ChannelWaiter(chan)
    threading.Timer(0.1, chan.in_stderr_buffer.close).start()
    assert waited(waiter, 5.0) < 2.0

