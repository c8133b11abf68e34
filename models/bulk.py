"""Building many small objects at once without paying CPython's cyclic garbage collector for it.

CPython runs its cyclic collector every 700 net container allocations, and a full (oldest
generation) pass each time the objects that survived earlier passes grow by a quarter; each full
pass walks *every* tracked object of the process. Reading a 5,000-kernel instance or binding a
20,000-kernel template creates a few hundred thousand tuples, lists and dataclass instances, all
of which survive, so the collector walks the growing heap again and again and takes more than half
of the time of the whole build (measured: binding the 20,000-kernel replay of
``benchmarks/sim_throughput.py``, 0.61 s with the collector against 0.25 s without). The objects
built there hold no reference cycles, so those passes can free nothing. :func:`gc_paused` turns the
collector off for such a build and back on after it; reference counting still frees everything as
usual, and the next pass after the build sees the new objects once.

Reference: the ``gc`` module documentation (``gc.disable``, ``gc.get_threshold``) and
"Garbage collector design" in the CPython developer guide.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector inside the ``with`` block (if it was enabled).

    Use it only around code that builds acyclic data in bulk: a cycle created inside the block is
    freed by the first collection after it, not during it.

    Examples
    --------
    >>> import gc
    >>> with gc_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
