"""When the dashboard may send the browser its next delta."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class SendGate:
    """At most one send per `interval` seconds, and none while the previous one is unacknowledged.

    Data that arrives meanwhile is not queued: it stays in the Python buffers and the next
    send carries all of it. A browser that stops acknowledging (a closed tab, a kernel
    without a front end) therefore costs nothing but the buffers that are kept anyway;
    `reopen` (a front end announcing itself) lets sending resume.
    """

    def __init__(self, interval: float = 0.25, clock: Callable[[], float] = time.monotonic):
        self.interval, self.clock = interval, clock
        self.seq = 0
        self.awaiting: int | None = None
        self.last_sent = -math.inf

    def is_open(self) -> bool:
        return self.awaiting is None and self.clock() - self.last_sent >= self.interval

    def wait(self) -> float | None:
        """Seconds until the gate opens by itself; None while an acknowledgement is awaited."""
        if self.awaiting is not None:
            return None
        return max(0.0, self.last_sent + self.interval - self.clock())

    def sent(self) -> int:
        """Record a send; returns its sequence number, which the browser acknowledges."""
        self.seq += 1
        self.awaiting = self.seq
        self.last_sent = self.clock()
        return self.seq

    def acknowledged(self, seq: int) -> None:
        if self.awaiting is not None and seq == self.awaiting:
            self.awaiting = None

    def reopen(self) -> None:
        """A front end (re)connected and asked for everything: stop waiting for older acknowledgements."""
        self.awaiting = None
