"""The discrete-event core: ordering, follow-up events, determinism, isolation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xpuplan.runtime.engine import Engine


def test_events_run_in_time_priority_sequence_order() -> None:
    """Same time: lower priority first; same priority: in the order they were scheduled."""
    engine = Engine()
    log: list[str] = []
    for time, prio, tag in [(5, 1, "a"), (5, 0, "b"), (1, 9, "c"), (5, 1, "d"), (5, 0, "e")]:
        engine.schedule(time, prio, log.append, tag)
    engine.run()
    assert log == ["c", "b", "e", "a", "d"]


def test_handlers_return_follow_up_events() -> None:
    """A handler's returned events are scheduled; the clock follows them."""
    engine = Engine()
    seen: list[tuple[float, int]] = []

    def tick(n: int) -> list[tuple[float, int, object, int]] | None:
        seen.append((engine.now, n))
        return [(engine.now + 2.5, 0, tick, n + 1)] if n < 3 else None

    engine.schedule(1, 0, tick, 0)
    assert engine.run() == 8.5
    assert seen == [(1, 0), (3.5, 1), (6, 2), (8.5, 3)]
    assert engine.num_events == 4


def test_run_until_stops_and_continues() -> None:
    """Events after ``until`` stay pending; a second run processes them."""
    engine = Engine()
    log: list[int] = []
    for time in (1, 2, 3, 4):
        engine.schedule(time, 0, log.append, time)
    engine.run(until=2)
    assert log == [1, 2] and engine.next_time == 3 and len(engine) == 2
    engine.run()
    assert log == [1, 2, 3, 4]


def test_past_events_are_refused() -> None:
    """Scheduling before the current time, directly or as a follow-up, is an error."""
    engine = Engine()
    engine.schedule(5, 0, lambda _: [(4, 0, print, None)])
    with pytest.raises(ValueError, match="before"):
        engine.run()
    with pytest.raises(ValueError, match="before"):
        engine.schedule(1, 0, print)


def test_two_engines_do_not_share_counters_or_randomness() -> None:
    """Each engine has its own sequence counter and generator (no class-level state)."""
    first, second = Engine(seed=7), Engine(seed=7)
    log: list[tuple[str, int]] = []
    for n in range(3):
        first.schedule(0, 0, log.append, ("first", n))
        second.schedule(0, 0, log.append, ("second", n))
    draws_first = first.rng.random(3)
    second.run()
    first.run()
    assert log == [
        ("second", 0),
        ("second", 1),
        ("second", 2),
        ("first", 0),
        ("first", 1),
        ("first", 2),
    ]
    assert list(draws_first) == list(second.rng.random(3))


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 3)), min_size=1, max_size=40))
def test_order_is_sorted_by_time_priority_then_insertion(events: list[tuple[int, int]]) -> None:
    """Whatever is scheduled comes out sorted by (time, priority, insertion)."""
    engine = Engine()
    out: list[tuple[int, int, int]] = []
    for seq, (time, prio) in enumerate(events):
        engine.schedule(time, prio, out.append, (time, prio, seq))
    engine.run()
    assert out == sorted(out)
