"""The list-scheduling machinery most policies share, and small ranking helpers.

Everything here uses only the dispatch API (:mod:`xpuplan.runtime.dispatch`) and the public
attributes of ready items and jobs.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from xpuplan.models import InvalidInput
from xpuplan.runtime.jobs import ModeRec
from xpuplan.runtime.policy import BasePolicy

if TYPE_CHECKING:
    from xpuplan.runtime.dispatch import DispatchApi
    from xpuplan.runtime.jobs import Ready


class _Bucket:
    """Ready items that may use one set of devices, in ``(key, seq)`` order.

    The heap holds each distinct key once, as ``(key, seq, item)`` of its earliest item; the
    later items of that key wait in a FIFO (in ``seq`` order, the order they became ready) and
    take its place when it leaves. So the many ready kernels of one job (which share the job's
    key under most policies) cost a deque append and a one-entry heap replace instead of a sift
    through every waiting item, while a key with a single item (a chain's next kernel) costs
    what a plain heap would. Taken items are dropped lazily when they reach the head.
    """

    __slots__ = ("bit", "heap", "later", "mask")

    def __init__(self, mask: int, bit: int) -> None:
        self.mask = mask
        self.bit = bit  # the bucket's bit in a decision's set of buckets held back
        self.heap: list[tuple[Any, int, Ready]] = []
        # key -> the items behind the heap's entry of that key (None until there is one)
        self.later: dict[Any, deque[Ready] | None] = {}

    def push(self, key: Any, item: Ready) -> None:
        later = self.later
        queue = later.get(key)
        if queue is not None:
            queue.append(item)
        elif key in later:
            later[key] = deque((item,))
        else:
            later[key] = None
            heapq.heappush(self.heap, (key, item.seq, item))

    def head(self) -> Ready | None:
        """The first item not yet taken (its entry is ``heap[0]``); None when empty."""
        heap = self.heap
        while heap:
            item = heap[0][2]
            if not item.taken:
                return item
            self.pop_head()
        return None

    def unpop(self, key: Any, item: Ready) -> None:
        """Put back ``item``, just removed by :meth:`pop_head`, as the first of its key."""
        later = self.later
        if key not in later:
            later[key] = None
            heapq.heappush(self.heap, (key, item.seq, item))
            return
        # The next item of the key took its heap entry: give the entry back to ``item`` (an
        # earlier seq, so the entry only moves up) and queue that one first behind it.
        heap = self.heap
        idx = next(i for i, entry in enumerate(heap) if entry[0] == key)
        other = heap[idx][2]
        heap[idx] = (key, item.seq, item)
        heapq.heapify(heap)
        queue = later[key]
        if queue is None:
            later[key] = deque((other,))
        else:
            queue.appendleft(other)

    def pop_head(self) -> None:
        """Remove the head entry; the next item of its key, if any, takes its place."""
        heap = self.heap
        key = heap[0][0]
        queue = self.later[key]
        if queue:
            item = queue.popleft()
            heapq.heapreplace(heap, (key, item.seq, item))
        else:
            heapq.heappop(heap)
            del self.later[key]


class QueuePolicy(BasePolicy):
    """Greedy list scheduling: ready work in :meth:`key` order, each on the fastest idle unit.

    Ready items are kept in one bucket per set of devices they may use, each in ``(key, seq)``
    order, so a decision only looks at the head of each bucket: the best head whose devices have
    an idle unit is started there. Subclasses give :meth:`key` (smaller first; hashable, since
    items of equal key share one FIFO) and may restrict devices (:meth:`allowed_mask`) or hold
    an item back (:meth:`blocked`, which holds its whole bucket for this decision, since
    everything behind the head ranks lower).

    A head that no idle unit takes holds its bucket too (the items behind it may use the same
    devices, so none of them fits either) -- except under a :meth:`restricted
    <xpuplan.runtime.dispatch.DispatchApi.restricted>` API, where whether a unit takes an item
    depends on the item's duration: there a shorter item behind the head may fit, so the
    decision looks past a head that does not (and puts it back afterwards, in its place).

    Parameters
    ----------
    decode_batch
        Decode steps of one model started together (1: each request alone). A batch takes the
        item being started and the best-ranked other ready steps of the same model.
    """

    def __init__(self, decode_batch: int = 1) -> None:
        if not isinstance(decode_batch, int) or decode_batch < 1:
            raise InvalidInput("must be an integer >= 1", field="decode_batch", value=decode_batch)
        self.decode_batch = decode_batch

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self._buckets: list[_Bucket] = []
        self._mask2bucket: dict[int, _Bucket] = {}
        # Hooks a subclass leaves alone are not called on the hot path.
        cls = type(self)
        self._masked = cls.allowed_mask is not QueuePolicy.allowed_mask
        self._blocking = cls.blocked is not QueuePolicy.blocked
        self._placing = cls.place is not QueuePolicy.place
        self._notified = cls.on_dispatch is not QueuePolicy.on_dispatch
        self._look_past = api.restricted_placement

    def key(self, item: Ready) -> Any:
        raise NotImplementedError

    def allowed_mask(self, item: Ready) -> int:
        """Devices ``item`` may use, as a bit mask (default: all)."""
        return -1

    def blocked(self, item: Ready) -> bool:
        """True to hold ``item`` back at this decision."""
        return False

    def on_dispatch(self, item: Ready) -> None:
        """``item`` was just started."""
        return None

    def on_ready(self, item: Ready) -> None:
        mask = item.dev_mask
        if self._masked:
            mask = mask & self.allowed_mask(item) or mask
        bucket = self._mask2bucket.get(mask)
        if bucket is None:
            bucket = self._mask2bucket[mask] = _Bucket(mask, 1 << len(self._buckets))
            self._buckets.append(bucket)
        bucket.push(self.key(item), item)

    def decide(self) -> None:
        if not self._look_past:
            self._decide([])
            return
        passed: list[tuple[_Bucket, Any, Ready]] = []
        try:
            self._decide(passed)
        finally:
            for bucket, key, item in reversed(passed):
                bucket.unpop(key, item)

    def _decide(self, passed: list[tuple[_Bucket, Any, Ready]]) -> None:
        """One decision; heads that did not fit go to ``passed`` (with ``_look_past``)."""
        api = self.api
        machine = api.machine
        buckets = self._buckets
        skip = 0  # the buckets held back at this decision (their bits)
        while True:
            idle = machine.idle_mask
            if not idle:
                return
            best = best_bucket = None
            for bucket in buckets:
                if bucket.mask & idle and not skip & bucket.bit:
                    heap = bucket.heap
                    # The head, inline when it is not taken (head() drops taken ones).
                    head = heap[0][2] if heap and not heap[0][2].taken else bucket.head()
                    if head is not None and (best_bucket is None or heap[0] < best_bucket.heap[0]):
                        best, best_bucket = head, bucket
            if best is None or best_bucket is None:
                return
            mask = best_bucket.mask & idle
            if self._blocking and self.blocked(best):
                choice = None
            elif self._placing:
                choice = self.place(best, mask)
            else:
                choice = api.best_idle(best, mask)
            if choice is None:
                if self._look_past and not (self._blocking and self.blocked(best)):
                    passed.append((best_bucket, best_bucket.heap[0][0], best))
                    best_bucket.pop_head()
                else:
                    skip |= best_bucket.bit
                continue
            best_bucket.pop_head()
            unit, rec = choice
            if best.k < 0:  # a decode step (is_decode, without a property call on the hot path)
                api.start(best, unit, rec, batch=self.batch_for(best))
            else:
                api.start(best, unit, rec)
            if self._notified:
                self.on_dispatch(best)

    def place(self, item: Ready, mask: int) -> tuple[int, ModeRec] | None:
        """Where to start ``item`` among the idle devices in ``mask`` (default: fastest)."""
        return self.api.best_idle(item, mask)

    def batch_for(self, item: Ready) -> Sequence[Ready]:
        if not item.is_decode or self.decode_batch <= 1:
            return ()
        others = [it for it in self.api.decode_items(item) if it is not item and not it.job.frozen]
        others.sort(key=self.key)
        return [item, *others[: self.decode_batch - 1]]


class Finish(NamedTuple):
    """Where and how a ready item would end earliest (:func:`earliest_finish`)."""

    finish: float
    unit: int
    mode: ModeRec


def earliest_finish(
    api: DispatchApi, item: Ready, free_at: Callable[[int], float], skip: int = 0
) -> Finish | None:
    r"""The :class:`Finish` ``(finish, unit, mode)`` that ends ``item`` earliest, or None.

    Over the units not in the bit set ``skip``, with each device's fastest mode within its
    level cap: :math:`\max(f_u, r_d) + p_d`, where :math:`f_u` = ``free_at(unit)`` and
    :math:`r_d` is when the item's inputs are on device :math:`d`.
    """
    machine = api.machine
    best = None
    for dev in range(machine.num_devices):
        rec = api.mode_on(item, dev) if item.dev_mask >> dev & 1 else None
        if rec is None:
            continue
        ready = api.data_ready(item, dev)
        for unit in machine.dev_units[dev]:
            if not skip >> unit & 1:
                finish = max(free_at(unit), ready) + rec.duration_us
                if best is None or finish < best.finish:
                    best = Finish(finish, unit, rec)
    return best


def fastest_device(item: Ready) -> int:
    """The device where ``item``'s whole stage runs fastest (its model's best backend).

    For a kernel, the device with the least total duration over the kernels of its template
    among the devices that run all of them (the kernel's own fastest device when none does);
    for a decode step, the device of its fastest mode.
    """
    stage_totals = item.stage_totals
    if stage_totals is None:
        return item.modes[0].dev
    totals = [(total, d) for d, total in enumerate(stage_totals) if total is not None]
    return min(totals)[1] if totals else item.modes[0].dev


def deadline_key(item: Ready) -> tuple[float, float, int]:
    """Earliest deadline first (no deadline last), ties by arrival."""
    job = item.job
    return (job.deadline if job.deadline is not None else float("inf"), job.arrival, job.jid)
