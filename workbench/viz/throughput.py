"""Training speed and time left, from (wall time, step) observations."""

from __future__ import annotations

import collections


class Throughput:
    """Steps per second over the last `window` seconds, and the progress summary the dashboard shows."""

    def __init__(self, window: float = 10.0):
        self.window = window
        self._points: collections.deque = collections.deque()
        self._start: float | None = None
        self.info: dict = {}

    def observe(self, step: int, wall: float) -> None:
        points = self._points
        if points and step < points[-1][1]:  # a new fit started from an earlier step
            points.clear()
            self._start = None
        if self._start is None:
            self._start = wall
        if points and wall <= points[-1][0]:
            points[-1] = (points[-1][0], step)
        else:
            points.append((wall, step))
        while len(points) > 2 and wall - points[1][0] >= self.window:
            points.popleft()
        self.info["step"] = step
        self.info["elapsed_seconds"] = wall - self._start

    def update(self, record: dict) -> None:
        """Take a progress record: step, epoch, epochs, steps_per_epoch, wall, and optionally steps_per_second."""
        for key in ("epoch", "epochs", "steps_per_epoch", "steps_per_second"):
            if record.get(key) is not None:
                self.info[key] = record[key]
        if record.get("step") is not None and record.get("wall") is not None:
            self.observe(int(record["step"]), float(record["wall"]))

    def steps_per_second(self) -> float | None:
        if self.info.get("steps_per_second") is not None:
            return float(self.info["steps_per_second"])
        if len(self._points) < 2:
            return None
        (w0, s0), (w1, s1) = self._points[0], self._points[-1]
        return (s1 - s0) / (w1 - w0) if w1 > w0 else None

    def summary(self) -> dict:
        """What the header shows: step, epoch, epochs, steps_per_second, eta_seconds, elapsed_seconds."""
        out = {k: v for k, v in self.info.items() if k != "steps_per_second"}
        rate = self.steps_per_second()
        out["steps_per_second"] = rate
        epochs, per_epoch, step = out.get("epochs"), out.get("steps_per_epoch"), out.get("step")
        if rate and epochs and per_epoch and step is not None:
            out["eta_seconds"] = max(epochs * per_epoch - step, 0) / rate
        else:
            out["eta_seconds"] = None
        return out
