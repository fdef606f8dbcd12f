"""Evidence that audit records were lost: kernel/auditd messages and gaps in event serial numbers.

A recording made from a log with any such evidence is marked incomplete: a profile built from it
may lack syscalls whose records were dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seccomp_gen.recorder.audit.tables import tables

#: A serial number this far below the last one starts a new boot (serials restart at boot).
_REBOOT_DROP = 100_000
#: Records of concurrent events reach a log slightly out of order: a skipped serial still counts as
#: present if it turns up within this many serials; older holes are final.
_REORDER_WINDOW = 10_000
#: see_all() checks serials this many at a time: a run out of order is then seen one by one.
_RUN = 256


@dataclass
class SerialTracker:
    """Counts serial numbers missing within one input, one boot at a time, in bounded memory.

    Events of one boot carry increasing serials, but concurrent events are written slightly out of
    order; a serial far below the last one starts a new boot.
    """

    last: int | None = None
    holes: set[int] = field(default_factory=set)
    final_missing: int = 0
    gaps: int = 0

    @property
    def missing(self) -> int:
        return self.final_missing + len(self.holes)

    def see(self, serial: int) -> None:
        last = self.last
        if last is None or serial < last - _REBOOT_DROP:
            self._settle(None)
            self.last = serial
            return
        if serial > last + 1:
            self.gaps += 1
            self.holes.update(range(last + 1, min(serial, last + 1 + _REORDER_WINDOW)))
            self.final_missing += max(0, serial - last - 1 - _REORDER_WINDOW)
            if len(self.holes) > _REORDER_WINDOW:
                self._settle(serial - _REORDER_WINDOW)
        elif serial < last:
            self.holes.discard(serial)
            return
        self.last = serial

    def see_all(self, serials: list[int]) -> None:
        """see() each serial in order. In a complete trail the serials only repeat (records of one
        event) or step by one, a run of them then only moves `last`: that is checked at C speed,
        a run at a time, and only a run that does something else is seen serial by serial."""
        for start in range(0, len(serials), _RUN):
            run = serials[start:start + _RUN]
            if self.last is None:
                self.see(run[0])
            last = self.last
            assert last is not None
            if run[0] - last in (0, 1) and run == sorted(run) and len(set(run)) == run[-1] - run[0] + 1:
                self.last = run[-1]  # non-decreasing, and every number between its ends is in it
                continue
            for serial in run:
                self.see(serial)

    def _settle(self, below: int | None) -> None:
        """Holes older than `below` (all, when None) can no longer be filled."""
        old = self.holes if below is None else {h for h in self.holes if h < below}
        self.final_missing += len(old)
        self.holes -= old


def may_report_loss(text: str) -> bool:
    """Cheap pre-check before the loss regexes, for a line or a whole block of lines: every loss
    message holds one of these words, and most lines and most blocks hold none."""
    return ("lost" in text or "suppress" in text or "exceeded" in text or "overflow" in text
            or "ropping" in text)


@dataclass
class LossEvidence:
    """Drop messages seen across all inputs, by description, with the first file:line of each."""

    messages: dict[str, str] = field(default_factory=dict)
    suppressed: int = 0

    def scan(self, text: str, where: str) -> None:
        if not may_report_loss(text):
            return
        for pattern in tables().loss_patterns:
            match = pattern.regex.search(text)
            if match:
                self.messages.setdefault(pattern.what, where)
                if "suppressed" in pattern.regex.pattern:
                    self.suppressed += int(match.group(1))
                return
