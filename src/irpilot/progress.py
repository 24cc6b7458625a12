"""Progress bars on the command line: which image and which step is running, and time left.

>>> bar = tqdm(files)                                  # doctest: +SKIP
>>> status = BarStatus(bar)                            # doctest: +SKIP
>>> agent = Agent(listener=status.listener)            # doctest: +SKIP
>>> for f in bar: status.image(f.name); agent.run(...)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__all__ = ["BarStatus"]


class BarStatus:
    """Shows the current image and the agent's current step in a tqdm bar's postfix (tqdm
    itself shows the count, the rate and the time left).  Does nothing for a disabled bar."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.current = ""
        self.step = ""

    def image(self, name: str) -> None:
        self.current, self.step = name, ""
        self._show()

    def listener(self, event: str, step: Any = None) -> None:
        if event == "perceive":
            self.step = "perception"
        elif event == "call" and step is not None:
            self.step = str(step.action.get("name"))
        else:
            return
        self._show()

    @property
    def text(self) -> str:
        return f"{self.current}: {self.step}" if self.step else self.current

    def _show(self) -> None:
        if not getattr(self.bar, "disable", False):
            self.bar.set_postfix_str(self.text, refresh=True)
