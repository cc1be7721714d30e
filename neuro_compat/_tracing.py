"""Trace ids, as neuro_sdk makes them (the neuro command line asks for one)."""
from __future__ import annotations

import random
import time


def gen_trace_id() -> str:
    """Return 32 random hexadecimal digits.

    The upper 32 bits are the current time in epoch seconds, and the lower
    96 bits are random, as neuro_sdk makes them (AWS X-Ray compatible). There
    is no HTTP traffic here to trace: the id is accepted by :class:`Factory`
    and otherwise unused.
    """
    high = int(time.time())
    low = random.getrandbits(96)
    return f"{(high << 96) | low:032x}"
