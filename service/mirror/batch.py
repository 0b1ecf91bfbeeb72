"""What one worker batch carries from event to event, explicitly instead of on the connection.

A batch is one transaction over up to a few hundred inbox rows. Within it, the same few people
and versions appear on every event (written once each), each project's baseline is read once,
and the worklog roll-up's differences are summed in memory (`rollup.Pending`). If an event's
savepoint rolls back, what the batch learned during it goes with it (`undoable`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from service.mirror.rollup import Pending
from service.scope.baseline import Baseline


@dataclass
class Batch:
    # None: outside a worker batch, roll-up differences go straight to the table.
    rollup: Pending | None = None
    people: dict[str, str] = field(default_factory=dict)  # id -> display name, as written
    versions: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # id -> as written
    baselines: dict[str, Baseline] = field(default_factory=dict)  # project key -> in force

    @contextmanager
    def undoable(self) -> Iterator[None]:
        """Wrap a savepoint: what its block added here is dropped again if it raises."""
        saved = (
            None if self.rollup is None else self.rollup.copy(),
            dict(self.people),
            dict(self.versions),
        )
        try:
            yield
        except BaseException:
            self.rollup, self.people, self.versions = saved
            raise
