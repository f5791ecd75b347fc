"""The hub's in-process event bus: typed, synchronous, thread-safe.

Domains publish facts about their own data (an order changed, a call was answered, an
outbox row was committed) and subscribe to the types they care about; none calls another's
listeners by name. Handlers run on the publisher's thread, after the publisher's transaction
committed, so they must be quick (queue work for a Worker when it is not).
"""

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], None]


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[type, list[Handler]] = defaultdict(list)

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> None:
        with self._lock:
            self._handlers[kind].append(handler)

    def publish(self, event: object) -> None:
        with self._lock:
            handlers = list(self._handlers.get(type(event), ()))
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                # One failing listener (a board gone) must not undo what was committed or
                # keep the others from hearing of it.
                log.exception("a listener of %s failed", type(event).__name__)
