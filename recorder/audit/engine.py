"""The audit engine: audit log inputs -> one Recording (engine "audit"), with the summary of what
was read, filtered out, malformed or lost."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.audit.filter import AuditFilter, parse_time
from seccomp_gen.recorder.audit.inputs import MAX_LINE
from seccomp_gen.recorder.audit.reader import MAX_REPORTED, AuditReader
from seccomp_gen.recorder.audit.subjects import Subject
from seccomp_gen.recorder.interface import Log
from seccomp_gen.recorder.recording import Recording

__all__ = ["AuditFilter", "AuditLogEngine", "parse_time", "read_audit_logs"]


class AuditLogEngine(AuditReader):
    """Turns audit log inputs into one Recording (engine "audit")."""

    name = "audit"

    def record(self) -> Recording:
        for path in self.inputs:
            self.read_input(path)
        return self.finish()

    def subjects(self) -> list[Subject]:
        """`record --list-subjects`: the subj= labels of the records the filters keep, with their
        counts, example programs and nodes, most records first; SeccompGenError when there are none."""
        self.list_subjects()
        for path in self.inputs:
            self.read_input(path)
        self._check_matched()
        return self.inventory.rows()

    def finish(self, *, engine: str | None = None, command: Sequence[str] = (), exit_status: int | None = None,
               extra_details: Mapping[str, object] | None = None) -> Recording:
        """The Recording of everything fed so far; SeccompGenError when nothing matched."""
        stats = self.stats
        if stats.malformed > MAX_REPORTED:
            self.log(f"seccomp-gen: {stats.malformed - MAX_REPORTED} more malformed records skipped")
        if stats.interpreted:
            message = (f"{stats.interpreted} line(s) are `ausearch -i` (interpreted) output, whose rewritten names, "
                       "users and unquoted paths cannot be read back reliably: give `ausearch --raw` output")
            if stats.matched == 0:
                raise SeccompGenError(f"{', '.join(self.inputs)}: {message}")
            self.collector.mark_incomplete(message)
        self._check_matched()
        for what, where in self.loss.messages.items():
            self.collector.mark_incomplete(f"{what} (first seen at {where})")
        if stats.malformed:
            self.collector.warn(f"{stats.malformed} malformed audit record(s) skipped")
        if stats.long_lines:
            self.collector.warn(f"{stats.long_lines} line(s) longer than {MAX_LINE} bytes skipped")
        details = {
            "inputs": list(self.inputs),
            "lines": stats.lines,
            "records_used": stats.matched,
            "records_filtered_out": stats.filtered_out,
            "other_audit_records": stats.other_records,
            "non_audit_lines": stats.not_audit,
            "malformed_records": stats.malformed,
            "processes_not_listed": self.processes_not_listed,
            "first_record": stats.first_ts,
            "last_record": stats.last_ts,
            "nodes": sorted(stats.nodes),
            "suppressed_callbacks": self.loss.suppressed,
        }
        if stats.records_per_node:
            details["records_per_node"] = dict(sorted(stats.records_per_node.items()))
        details.update(extra_details or {})
        return self.collector.build(engine=engine or self.name, command=command, exit_status=exit_status,
                                    processes=list(self.processes.values()), details=details)


    def _check_matched(self) -> None:
        """SeccompGenError when no record is left: a --subj/--node value the log does not hold is
        named with what it holds; an empty recording is never written."""
        stats = self.stats
        inputs = ", ".join(self.inputs)
        self.inventory.check(self.filt, inputs)
        if stats.matched == 0:
            if stats.filtered_out:
                raise SeccompGenError(f"{inputs}: none of the {stats.filtered_out} SECCOMP/SYSCALL records matched "
                                      "the filters; no recording written")
            raise SeccompGenError(f"{inputs}: no SECCOMP (1326) or SYSCALL (1300) audit record found "
                                  f"in {stats.lines} lines; no recording written")


def read_audit_logs(inputs: Sequence[str], filt: AuditFilter | None = None, *, strict: bool = False,
                    log: Log | None = None) -> Recording:
    return AuditLogEngine(inputs, filt, strict=strict, log=log).record()
