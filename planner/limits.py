"""Limits checked before any work starts: command-line numbers and the size of what a horizon or a
simulated duration would create.

Each check raises :class:`xpuplan.models.InvalidInput` with the option at fault and what to
change. The size estimate is arithmetic on the scenario (arrivals per task times an upper bound on
the kernels of one arrival), so a horizon of a million seconds is refused in microseconds, not
after a gigabyte of instance has been built.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from fractions import Fraction

from xpuplan.models import InvalidInput
from xpuplan.models.fields import MAX_KERNELS
from xpuplan.models.scenario import MAX_HORIZON_S, Periodic, Poisson, Scenario, Task, hyperperiod

#: Solver seeds: CP-SAT's ``random_seed`` is a signed 32-bit integer.
MAX_SEED = 2**31 - 1
#: The longest simulated duration in seconds (one day).
MAX_DURATION_S = 86_400.0
#: The shortest simulated duration or horizon in seconds (one millisecond; one microsecond).
MIN_DURATION_S = 1e-3
MIN_HORIZON_S = 1e-6
#: The most kernels a simulation may run: about 40,000 take some 10 s on one core (video-call
#: for 60 s on the Ryzen AI HX 370), so a million is a few minutes.
MAX_SIM_KERNELS = 1_000_000
#: Solver time limits: at most a week.
MAX_TIME_LIMIT_S = 7 * 86_400.0


# ---------------------------------------------------------------------- argparse types
def seed_arg(text: str) -> int:
    """``--seed``: an integer in ``[0, 2^31 - 1]`` (what every solver and the simulator hold)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer (got {text!r})") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"must be an integer between 0 and {MAX_SEED} (got {text!r})"
        )
    return value


def number_arg(minimum: float, maximum: float, what: str) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[minimum, maximum]``, e.g. ``what="watts"``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number of {what} (got {text!r})") from None
        if not (math.isfinite(value) and minimum <= value <= maximum):
            raise argparse.ArgumentTypeError(
                f"must be a number of {what} between {minimum:g} and {maximum:g} (got {text!r})"
            )
        return value

    parse.__name__ = what
    return parse


def seconds_arg(minimum: float, maximum: float) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds in ``[minimum, maximum]``."""
    return number_arg(minimum, maximum, "seconds")


def count_arg(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse type: an integer in ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer (got {text!r})") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be an integer between {minimum} and {maximum:,} (got {text!r})"
            )
        return value

    parse.__name__ = "count"
    return parse


def int_at_most(maximum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at most ``maximum`` (the lower bound is checked later,
    where the value is used)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer (got {text!r})") from None
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,} (got {text!r})")
        return value

    parse.__name__ = "integer"
    return parse


# ---------------------------------------------------------------------- size estimates
def arrivals_in(task: Task, horizon_s: float) -> float:
    """How many arrivals ``task`` has in ``[0, horizon_s)``: exact for periodic and listed arrivals,
    the expectation for Poisson arrivals."""
    arrival = task.arrival
    if isinstance(arrival, Periodic):
        first = arrival.offset_ms / 1000
        if first >= horizon_s:
            return 0
        return math.ceil((horizon_s - first) / float(arrival.period))
    if isinstance(arrival, Poisson):
        return arrival.rate_per_min / 60 * horizon_s
    return sum(1 for t in arrival.times_ms if t / 1000 < horizon_s)


def kernels_per_arrival(task: Task, max_kernels_per_model: int, decode_group: int) -> int:
    """An upper bound on the kernels one arrival of ``task`` becomes (models are coarsened to at
    most ``max_kernels_per_model`` kernels; an LLM request is its prefill chunks, two kernels
    each, plus one kernel per ``decode_group`` answer tokens)."""
    total = 0
    for m_idx in range(len(task.models)):
        if task.is_llm and m_idx == 0:
            prompt = task.prompt_tokens or 0
            chunks = math.ceil(prompt / (task.chunk_tokens or prompt or 1))
            total += 2 * max(1, chunks) + math.ceil((task.output_tokens or 0) / decode_group)
        else:
            total += max_kernels_per_model
    return total


def default_horizon_s(tasks: Sequence[Task], scenario: Scenario, fallback_s: float) -> Fraction:
    """The horizon the planner uses without ``--horizon``: the hyperperiod of the periodic tasks
    when every planned task is periodic, else the scenario's horizon, else ``fallback_s``."""
    if tasks and all(isinstance(t.arrival, Periodic) for t in tasks):
        return hyperperiod([t.arrival.period for t in tasks if isinstance(t.arrival, Periodic)])
    return Fraction(scenario.horizon_s or fallback_s)


def check_plan_size(
    scenario: Scenario,
    *,
    horizon_s: float | None,
    include_unknown: bool,
    max_kernels_per_model: int,
    decode_group: int,
    fallback_horizon_s: float = 60.0,
) -> None:
    """Refuse, before building, an instance with no arrival or with more than
    :data:`~xpuplan.models.fields.MAX_KERNELS` kernels."""
    tasks = [t for t in scenario.tasks if t.known or include_unknown]
    if not tasks:
        return  # the builder says there is nothing to plan, with the way out
    given = horizon_s is not None
    horizon = (
        Fraction(horizon_s)
        if horizon_s is not None
        else default_horizon_s(tasks, scenario, fallback_horizon_s)
    )
    what = (
        f"a horizon of {float(horizon):g} s" if given else _horizon_origin(tasks, scenario, horizon)
    )
    if horizon > MAX_HORIZON_S:
        raise InvalidInput(
            f"{what} is longer than the {MAX_HORIZON_S:g} s an instance can hold; "
            "give a shorter --horizon",
            field="--horizon",
            value=float(horizon),
        )
    arrivals = {t.name: arrivals_in(t, float(horizon)) for t in tasks}
    if not any(arrivals.values()):
        raise InvalidInput(
            f"{what} holds no arrival of a planned task; give a longer --horizon",
            field="--horizon",
            value=float(horizon),
        )
    kernels = sum(
        arrivals[t.name] * kernels_per_arrival(t, max_kernels_per_model, decode_group)
        for t in tasks
    )
    if kernels > MAX_KERNELS:
        raise InvalidInput(
            f"{what} would create up to {kernels:,.0f} kernels, more than the {MAX_KERNELS:,} "
            "an instance may hold; give a shorter --horizon (or fewer --max-kernels)",
            field="--horizon",
            value=float(horizon),
        )


def check_simulation_size(
    scenario: Scenario, duration_s: float, max_kernels_per_model: int = 6, decode_group: int = 16
) -> None:
    """Refuse, before running, a simulation of more than :data:`MAX_SIM_KERNELS` kernels."""
    kernels = sum(
        arrivals_in(t, duration_s) * kernels_per_arrival(t, max_kernels_per_model, decode_group)
        for t in scenario.tasks
    )
    if kernels > MAX_SIM_KERNELS:
        raise InvalidInput(
            f"{duration_s:g} s of {scenario.name} would run about {kernels:,.0f} kernels, more "
            f"than the {MAX_SIM_KERNELS:,} one simulation may run; give a shorter --duration",
            field="--duration",
            value=duration_s,
        )


def _horizon_origin(tasks: Sequence[Task], scenario: Scenario, horizon: Fraction) -> str:
    if all(isinstance(t.arrival, Periodic) for t in tasks):
        return f"the hyperperiod of the periodic tasks ({float(horizon):g} s)"
    return f"the scenario's horizon ({float(horizon):g} s)"
