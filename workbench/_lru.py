"""The one least-recently-used store every cache in the package is built on.

Caches here are small and keyed by content (a model's fingerprint, a file's hash, a figure's
inputs): keep the last ``size`` entries, call ``on_evict`` for each one dropped (to delete a
temporary directory, say), and hand out one value per key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

_MISSING = object()


class LRU(Generic[V]):
    """A mapping that keeps the ``size`` keys used most recently.

    Parameters
    ----------
    size : int
        How many entries are kept; the one used least recently goes first.
    on_evict : callable, default=None
        Called with ``(key, value)`` for each entry dropped to make room, or by :meth:`clear`.
    """

    def __init__(self, size: int, on_evict: Callable[[Hashable, V], None] | None = None):
        self.size = size
        self.on_evict = on_evict
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: Hashable, default=None):
        """The value kept for ``key`` (now the most recent), or ``default``."""
        with self._lock:
            value = self._items.get(key, _MISSING)
            if value is _MISSING:
                return default
            self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> V:
        """Keep ``value`` for ``key`` as the most recent entry; return it."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                old_key, old = self._items.popitem(last=False)
                if self.on_evict is not None:
                    self.on_evict(old_key, old)
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The value for ``key``, made by ``make()`` and kept when it is not there yet."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            value = self.put(key, make())
        return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def values(self) -> list[V]:
        with self._lock:
            return list(self._items.values())

    def pop(self, key: Hashable, default=None):
        with self._lock:
            return self._items.pop(key, default)

    def clear(self) -> None:
        """Drop every entry (``on_evict`` is called for each)."""
        with self._lock:
            items = list(self._items.items())
            self._items.clear()
        if self.on_evict is not None:
            for key, value in items:
                self.on_evict(key, value)
