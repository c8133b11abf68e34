"""A step function of time: the power drawn or a resource used by the kernels placed so far.

``times[i]`` is a breakpoint and ``levels[i]`` the value over ``[times[i], times[i + 1])``; the
last level lasts forever. ``times[0] == 0`` (no kernel starts before time 0), so every instant has
a step. Adding an interval splits at most two steps and raises the levels in between; finding the
first instant of a window where an amount does not fit is a bisection and a walk over the steps
of the window.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from xpuplan.solvers.heuristics.problem import cap_tolerance


class StepProfile:
    """Usage over time of one capped quantity (dynamic power, or one resource).

    Parameters
    ----------
    cap
        The capacity the usage may reach (a float sum within :func:`cap_tolerance` of it).
    """

    __slots__ = ("cap", "levels", "limit", "times")

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.limit = cap + cap_tolerance(cap)
        self.times: list[int] = [0]
        self.levels: list[float] = [0.0]

    def blocked_until(self, start: int, end: int, amount: float) -> int | None:
        """Where ``amount`` over ``[start, end)`` first exceeds the cap: the end of that step.

        Returns None when it fits everywhere in the window. Otherwise no start ``s`` with
        ``s <= t < s + (end - start)`` fits, for the instant ``t`` of the first step that is too
        full, so the next start worth trying is the end of that step.
        """
        times, levels = self.times, self.levels
        room = self.limit - amount
        idx = bisect_right(times, start) - 1
        num_steps = len(times)
        while idx < num_steps and times[idx] < end:
            if levels[idx] > room:
                # The last step is the level after every placed kernel ended, which is (close to)
                # zero and never blocks an amount that fits the cap alone.
                return times[idx + 1]
            idx += 1
        return None

    def add(self, start: int, end: int, amount: float) -> None:
        """Raise the level by ``amount`` over ``[start, end)`` (lower it for a negative amount)."""
        if end <= start or amount == 0.0:
            return
        first = self._split(start)
        last = self._split(end)
        levels = self.levels
        for idx in range(first, last):
            level = levels[idx] + amount
            # Removing what was added leaves float dust; snap it so that an empty stretch is 0.
            levels[idx] = 0.0 if abs(level) < 1e-12 else level

    def _split(self, time: int) -> int:
        """Index of the step starting at ``time``, splitting the step that contains it."""
        times = self.times
        idx = bisect_left(times, time)
        if idx < len(times) and times[idx] == time:
            return idx
        times.insert(idx, time)
        self.levels.insert(idx, self.levels[idx - 1])
        return idx
