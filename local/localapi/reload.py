"""Edited code is picked up without a restart, as `sam local` mounts the code into each new container.

A watchdog observer watches every function's CodeUri; a change to a `.py`
file there retires the workers (idle ones at once, busy ones once they have
answered), so the next request cold-starts on the new code. The server, and
the embedded store with its data, keep running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

SETTLE_SECONDS = 0.2
"""Editors write a file in several steps; one restart follows them all."""

log = logging.getLogger("localapi")


class CodeWatcher(FileSystemEventHandler):
    """Calls `on_change(paths)` on the event loop once `.py` files under `roots` have changed."""

    def __init__(
        self,
        roots: Iterable[Path],
        loop: asyncio.AbstractEventLoop,
        on_change: Callable[[list[Path]], None],
        template: Path | None = None,
    ) -> None:
        self.roots = sorted(set(roots))
        self._loop = loop
        self._on_change = on_change
        self._template = template
        self._changed: set[Path] = set()
        self._pending: asyncio.TimerHandle | None = None
        self._observer: Any = Observer()  # watchdog's observer API is untyped

    def start(self) -> CodeWatcher:
        for root in self.roots:
            self._observer.schedule(self, str(root), recursive=True)
        if self._template is not None:
            self._observer.schedule(self, str(self._template.parent), recursive=False)
        self._observer.start()
        return self

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join()

    def on_any_event(self, event: FileSystemEvent) -> None:  # watchdog's thread
        if event.event_type not in ("created", "modified", "moved", "deleted"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = Path(str(raw)) if raw else None
            if path is None:
                continue
            if self._template is not None and path == self._template:
                self._loop.call_soon_threadsafe(
                    log.warning, "%s changed: restart the local API to apply it", self._template.name
                )
            elif path.suffix == ".py" and any(path.is_relative_to(root) for root in self.roots):
                self._loop.call_soon_threadsafe(self._note, path)

    def _note(self, path: Path) -> None:  # the event loop
        self._changed.add(path)
        if self._pending is not None:
            self._pending.cancel()
        self._pending = self._loop.call_later(SETTLE_SECONDS, self._apply)

    def _apply(self) -> None:
        changed, self._changed, self._pending = sorted(self._changed), set(), None
        self._on_change(changed)
