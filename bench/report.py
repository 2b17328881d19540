"""What a benchmark prints as it goes, and its targets with their verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    targets: list[tuple[str, bool]] = field(default_factory=list)

    def say(self, line: str) -> None:
        print(line, flush=True)
        self.lines.append(line)

    def target(self, name: str, ok: bool) -> None:
        self.say(f"  {'PASS' if ok else 'FAIL'}  {name}")
        self.targets.append((name, ok))
