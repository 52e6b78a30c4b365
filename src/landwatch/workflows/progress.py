"""Progress reporting shared by the CLI (rich) and, later, the job service."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives step messages from a workflow."""

    def start(self, total: int) -> None: ...

    def step(self, message: str) -> None: ...


class NullProgress:
    """Progress sink that discards everything (library use, tests)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.total = 0

    def start(self, total: int) -> None:
        self.total = total

    def step(self, message: str) -> None:
        self.messages.append(message)
