"""Evidence that audit records were lost: kernel/auditd messages and gaps in event serial numbers.

A recording made from a log with any such evidence is marked incomplete: a profile built from it
may lack syscalls whose records were dropped.

Serial numbers restart at every boot, and one input may hold several boots: a log kept across a
reboot, rotated files concatenated out of order, or two boots' lines mixed. Counting missing serials
across boots would either hide losses (a reset taken as reordering) or invent millions (a jump to the
other boot's range taken as a gap), so each boot (or run of one) gets its own tracker, and a record
goes to the tracker its serial and time fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from seccomp_gen.recorder.audit.tables import tables

#: Records of concurrent events reach a log slightly out of order: a skipped serial still counts as
#: present if it turns up within this many serials; older holes are final. A serial farther than
#: this from every tracker's last one belongs to another boot (or to another run of this one).
_REORDER_WINDOW = 10_000
#: see_all() checks serials this many at a time: a run out of order is then seen one by one.
_RUN = 256
#: A serial is stamped with the time it is taken (a SYSCALL record: its syscall's entry, earlier),
#: so a record with a lower serial than a boot's last cannot be newer than that boot's newest record
#: by more than the log's reordering delay: then it is of a later boot. Seconds; a reboot takes longer.
_CLOCK_SLACK = 5
#: At most this many boots are tracked at once (memory stays bounded); the least recently seen is closed.
_MAX_BOOTS = 8
#: auditd writes this record when it starts (at boot, or restarted): serials after it may restart.
BOOT_MARKERS = frozenset({"DAEMON_START"})
_INF = float("inf")


@dataclass(eq=False)
class _Boot:
    """The serials of one boot (or of one run of it, when the log does not show which boot a record
    is of): the last one, the holes still open, and the time span seen (infinite: times unknown)."""

    last: int
    first_time: float
    newest: float
    holes: set[int] = field(default_factory=set)
    final_missing: int = 0
    gaps: int = 0
    #: Opened by a jump of more than the window from `origin` (at its serial `origin_last`): the
    #: `jump` serials between were lost if `origin` never went on, else this is another boot.
    origin: _Boot | None = None
    origin_last: int = 0
    jump: int = 0

    def fits(self, serial: int, time: float | None) -> bool:
        """Whether a record could be of this boot: near its last serial, and not newer than its
        newest record if it is older, nor older than its first if it is newer."""
        step = serial - self.last
        if step <= 0:
            return (step >= -_REORDER_WINDOW or serial in self.holes) and (
                time is None or time <= self.newest + _CLOCK_SLACK)
        return step <= _REORDER_WINDOW and (time is None or time >= self.first_time - _CLOCK_SLACK)

    def see(self, serial: int, time: float | None) -> None:
        """A serial that fits(): a gap opens holes, a late serial fills one."""
        if time is not None and time > self.newest:
            self.newest = time
        last = self.last
        if serial > last + 1:
            self.gaps += 1
            self.holes.update(range(last + 1, serial))
            if len(self.holes) > _REORDER_WINDOW:
                self.settle(serial - _REORDER_WINDOW)
        elif serial < last:
            self.holes.discard(serial)
            return
        self.last = serial

    def settle(self, below: int | None) -> None:
        """Holes older than `below` (all, when None) can no longer be filled."""
        old = self.holes if below is None else {h for h in self.holes if h < below}
        self.final_missing += len(old)
        self.holes = self.holes - old

    def jumped(self) -> bool:
        """True when the jump that opened this tracker was a gap: its origin never went on."""
        return self.origin is not None and self.origin.last == self.origin_last


class SerialTracker:
    """Counts serial numbers missing within one input, within each boot, in bounded memory.

    Events of one boot carry increasing serials, but concurrent events are written slightly out of
    order. A new boot shows as a serial far below the last one, a lower serial with a later time,
    a jump the old serials then go on after (two boots mixed), or auditd's DAEMON_START (new_boot).
    """

    def __init__(self) -> None:
        self.boots: list[_Boot] = []  # the open trackers, least recently used first
        self.current: _Boot | None = None
        self._closed_missing = 0
        self._closed_gaps = 0
        self._fresh = False  # a boot marker came: the next serial starts a tracker of its own

    @property
    def last(self) -> int | None:
        return self.current.last if self.current is not None else None

    @property
    def holes(self) -> set[int]:
        return set().union(*(boot.holes for boot in self.boots))

    @property
    def final_missing(self) -> int:
        return self._closed_missing + sum(b.final_missing + (b.jump if b.jumped() else 0) for b in self.boots)

    @property
    def gaps(self) -> int:
        return self._closed_gaps + sum(b.gaps + b.jumped() for b in self.boots)

    @property
    def missing(self) -> int:
        return self.final_missing + sum(len(boot.holes) for boot in self.boots)

    def new_boot(self) -> None:
        """auditd (re)started: the serials that follow are not compared with those before."""
        self._fresh, self.current = True, None

    def see(self, serial: int, time: float | None = None) -> None:
        """One record's serial, and its time in seconds when known."""
        current = self.current
        if current is not None and 0 <= serial - current.last <= 1:
            current.last = serial
            if time is not None and time > current.newest:
                current.newest = time
            return
        self._elsewhere(serial, time)

    def _elsewhere(self, serial: int, time: float | None) -> None:
        """A serial that does not step on from the current tracker's: the tracker it fits best (a
        hole of one first, then the nearest last serial), else a new one."""
        current, boot = self.current, None
        if not self._fresh:
            boot = next((b for b in self.boots if serial in b.holes and b.fits(serial, time)), None)
            if boot is None:
                near = [b for b in self.boots if b.fits(serial, time)]
                boot = min(near, key=lambda b: abs(serial - b.last)) if near else None
        if boot is not None:
            boot.see(serial, time)
            if boot is not self.boots[-1]:
                self.boots.remove(boot)
                self.boots.append(boot)
            self.current = boot
            return
        boot = _Boot(serial, time, time) if time is not None else _Boot(serial, -_INF, _INF)
        if (current is not None and not self._fresh and serial > current.last
                and (time is None or time >= current.first_time - _CLOCK_SLACK)):
            boot.origin, boot.origin_last, boot.jump = current, current.last, serial - current.last - 1
        self._fresh = False
        self.boots.append(boot)
        self.current = boot
        if len(self.boots) > _MAX_BOOTS:
            self._close(self.boots.pop(0))

    def _close(self, boot: _Boot) -> None:
        """Settle a tracker that fell out of use: its holes are final, its jump decided."""
        boot.settle(None)
        jumped = boot.jumped()
        self._closed_missing += boot.final_missing + (boot.jump if jumped else 0)
        self._closed_gaps += boot.gaps + jumped
        boot.origin = None  # a chain of trackers is never kept alive

    def see_all(self, serials: Sequence[int], seconds: Sequence[int] | None = None) -> None:
        """see() each serial in order, with its time when `seconds` gives it (whole seconds, 0 when
        unknown). In a complete trail the serials only repeat (records of one event) or step by
        one, a run of them then only moves `last` (and the newest time): that is checked at C
        speed, a run at a time, and only a run that does something else is seen serial by serial."""
        for start in range(0, len(serials), _RUN):
            run = list(serials[start:start + _RUN])
            if self.current is None:
                self.see(run[0], _time(seconds, start))
            current = self.current
            assert current is not None
            if run[0] - current.last in (0, 1) and run == sorted(run) and len(set(run)) == run[-1] - run[0] + 1:
                current.last = run[-1]  # non-decreasing, and every number between its ends is in it
                newest = max(seconds[start:start + _RUN]) if seconds is not None else 0
                if newest and newest > current.newest:
                    current.newest = newest
                continue
            for index, serial in enumerate(run, start):
                self.see(serial, _time(seconds, index))


def _time(seconds: Sequence[int] | None, index: int) -> int | None:
    """The time of see_all()'s serial `index`, None when unknown."""
    return (seconds[index] or None) if seconds is not None else None


def may_report_loss(text: str) -> bool:
    """Cheap pre-check before the loss regexes, for a line or a whole block of lines: every loss
    message holds one of the patterns' needles (recorder/data/audit.json), most lines and most
    blocks hold none."""
    return any(needle in text for needle in tables().loss_needles)


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


@dataclass
class Trail:
    """One node's records in one input: its serial numbers, and whether it holds records other
    than SECCOMP/SYSCALL (then it is an unfiltered trail, and a serial gap means records were lost)."""

    serials: SerialTracker = field(default_factory=SerialTracker)
    unfiltered: bool = False


class Trails:
    """The Trails of one input, by node (None: the lines name none).

    Every node numbers its audit events itself, with its own boots: lines of several nodes
    interleaved (`oc adm node-logs --role worker`, a merged journal) would look like gaps and
    boot changes of one another, so each node's serials are checked on their own.
    """

    def __init__(self) -> None:
        self.by_node: dict[str | None, Trail] = {}

    def of(self, node: str | None) -> Trail:
        trail = self.by_node.get(node)
        if trail is None:
            trail = self.by_node[node] = Trail()
        return trail

    def findings(self, path: str) -> list[tuple[str, bool]]:
        """(message, records were lost) for each node whose serials have gaps; lost is False when
        the trail is filtered (`ausearch -m` output), where gaps are expected."""
        found = []
        for node, trail in sorted(self.by_node.items(), key=lambda item: item[0] or ""):
            serials = trail.serials
            if serials.missing:
                where = f"{path}: node {node}" if node is not None else path
                message = f"{where}: {serials.missing} audit event serial number(s) missing in {serials.gaps} gap(s)"
                found.append((message, trail.unfiltered))
        return found
