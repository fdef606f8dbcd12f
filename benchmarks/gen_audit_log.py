"""A realistic synthetic audit.log of a given size, for the audit-reader throughput benchmark.

    python benchmarks/gen_audit_log.py OUT --mb 200 [--seed 1]

The records follow what auditd writes on a node with seccomp logging and a few watch rules
(log_format=ENRICHED, the RHEL/RHCOS default: raw fields, then a 0x1d separator and the interpreted
UPPERCASE fields): standalone SECCOMP records from containerised programs (x86_64 and some i386,
hex-encoded comm/exe where the value has spaces), multi-record syscall events (SYSCALL, CWD, PATH,
PROCTITLE, sometimes EOE), AVC denials with their SYSCALL, PAM/systemd USER_* / CRED_* / SERVICE_*
records and NETFILTER_CFG/BPF noise. Serial numbers are contiguous (a complete trail), timestamps
increase; the same seed gives the same bytes. Roughly a third of the records are SECCOMP or
SYSCALL, the rest is noise the reader must skip.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from pathlib import Path

GS = "\x1d"  # auditd ENRICHED format: separates raw fields from interpreted ones

X86_64_CALLS = [(0, "read"), (1, "write"), (3, "close"), (5, "fstat"), (7, "poll"), (9, "mmap"), (10, "mprotect"),
                (11, "munmap"), (12, "brk"), (13, "rt_sigaction"), (14, "rt_sigprocmask"), (16, "ioctl"),
                (17, "pread64"), (20, "writev"), (21, "access"), (23, "select"), (24, "sched_yield"),
                (28, "madvise"), (39, "getpid"), (41, "socket"), (42, "connect"), (44, "sendto"),
                (45, "recvfrom"), (56, "clone"), (59, "execve"), (60, "exit"), (61, "wait4"), (63, "uname"),
                (72, "fcntl"), (79, "getcwd"), (89, "readlink"), (96, "gettimeofday"), (102, "getuid"),
                (110, "getppid"), (157, "prctl"), (186, "gettid"), (202, "futex"), (217, "getdents64"),
                (228, "clock_gettime"), (231, "exit_group"), (232, "epoll_wait"), (257, "openat"),
                (262, "newfstatat"), (270, "pselect6"), (281, "epoll_pwait"), (293, "pipe2"),
                (302, "prlimit64"), (318, "getrandom"), (332, "statx"), (435, "clone3")]
I386_CALLS = [(3, "read"), (4, "write"), (5, "open"), (6, "close"), (20, "getpid"), (45, "brk"), (91, "munmap"),
              (122, "uname"), (125, "mprotect"), (192, "mmap2"), (243, "set_thread_area"), (252, "exit_group"),
              (295, "openat"), (384, "arch_prctl")]
PROGRAMS = [("nginx", "/usr/sbin/nginx"), ("node", "/usr/local/bin/node"), ("java", "/usr/lib/jvm/bin/java"),
            ("python3", "/usr/bin/python3.11"), ("postgres", "/usr/lib/postgresql/15/bin/postgres"),
            ("runc:[2:INIT]", "/usr/bin/runc"), ("crun", "/usr/bin/crun"), ("sh", "/usr/bin/bash"),
            ("my app", "/opt/my app/bin/server"), ("legacy32", "/opt/legacy/bin/legacy32")]
USERS = [(0, "root"), (1000, "core"), (4294967295, "unset")]
USER_TYPES = ["USER_ACCT", "CRED_ACQ", "USER_START", "USER_END", "CRED_DISP", "USER_LOGIN", "USER_CMD",
              "SERVICE_START", "SERVICE_STOP", "LOGIN", "USER_AUTH", "CRED_REFR"]
PATHS = ["/etc/passwd", "/etc/shadow", "/var/lib/kubelet/config.yaml", "/etc/kubernetes/kubelet.conf",
         "/etc/crio/crio.conf", "/root/.ssh/authorized_keys", "/etc/sudoers", "/tmp/x y/file"]


def _value(text: str) -> str:
    """A string field as the kernel writes it: quoted, or hex when it holds a space or quote."""
    if any(c in text for c in ' "\x7f') or any(ord(c) < 0x21 for c in text):
        return text.encode().hex().upper()
    return f'"{text}"'


class _Writer:
    """Emits whole events; each event gets the next serial number and a later timestamp."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.serial = 41000
        self.millis = 1_700_000_000_000
        self.pid = 2000

    def _stamp(self) -> str:
        self.serial += 1
        self.millis += self.rng.randint(0, 3)
        return f"msg=audit({self.millis // 1000}.{self.millis % 1000:03d}:{self.serial})"

    def _ids(self) -> tuple[int, str, int]:
        auid, name = self.rng.choice(USERS)
        return auid, name, 4294967295 if auid == 4294967295 else self.rng.randint(1, 40)

    def _proc(self) -> tuple[int, str, str]:
        if self.rng.random() < 0.005:
            self.pid += self.rng.randint(1, 50)
        comm, exe = self.rng.choice(PROGRAMS)
        return self.pid + self.rng.randint(0, 30), comm, exe

    def seccomp(self) -> list[str]:
        auid, aname, ses = self._ids()
        pid, comm, exe = self._proc()
        compat = comm == "legacy32" or self.rng.random() < 0.03
        nr, name = self.rng.choice(I386_CALLS if compat else X86_64_CALLS)
        arch, arch_name = ("40000003", "i386") if compat else ("c000003e", "x86_64")
        code = self.rng.choice(["0x7ffc0000"] * 20 + ["0x50001", "0x80000000"])
        return [f"type=SECCOMP {self._stamp()}: auid={auid} uid=0 gid=0 ses={ses} "
                f"subj=system_u:system_r:container_t:s0:c12,c345 pid={pid} comm={_value(comm)} exe={_value(exe)} "
                f"sig=0 arch={arch} syscall={nr} compat={int(compat)} ip=0x7f{self.rng.getrandbits(40):010x} "
                f'code={code}{GS}AUID="{aname}" UID="root" GID="root" ARCH={arch_name} SYSCALL={name}']

    def _syscall(self, stamp: str, nr: int, name: str, items: int, key: str) -> str:
        auid, aname, ses = self._ids()
        pid, comm, exe = self._proc()
        success = self.rng.random() < 0.8
        exit_value = self.rng.randint(0, 40) if success else -self.rng.choice([2, 13, 1])
        return (f"type=SYSCALL {stamp}: arch=c000003e syscall={nr} success={'yes' if success else 'no'} "
                f"exit={exit_value} a0=ffffff9c a1=7ffd{self.rng.getrandbits(32):08x} "
                f"a2={self.rng.choice(['0', '80000', '241'])} "
                f"a3=0 items={items} ppid={pid - 1} pid={pid} auid={auid} uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 "
                f"sgid=0 fsgid=0 tty=(none) ses={ses} comm={_value(comm)} exe={_value(exe)} "
                f'subj=system_u:system_r:unconfined_service_t:s0 key={key}{GS}ARCH=x86_64 SYSCALL={name} '
                f'AUID="{aname}" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" '
                f'SGID="root" FSGID="root"')

    def watch(self) -> list[str]:
        stamp = self._stamp()
        paths = self.rng.sample(PATHS, self.rng.choice([1, 1, 2]))
        nr, name = self.rng.choice([(257, "openat"), (262, "newfstatat"), (87, "unlink"), (82, "rename")])
        lines = [self._syscall(stamp, nr, name, len(paths), '"identity"'),
                 f"type=CWD {stamp}: cwd={_value('/var/lib/kubelet')}"]
        for item, path in enumerate(paths):
            lines.append(f"type=PATH {stamp}: item={item} name={_value(path)} inode={self.rng.randint(1000, 9999999)} "
                         f"dev=fd:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 obj=system_u:object_r:etc_t:s0 "
                         f"nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"
                         f'{GS}OUID="root" OGID="root"')
        lines.append(f"type=PROCTITLE {stamp}: proctitle={b'cat /etc/passwd --number'.hex().upper()}")
        if self.rng.random() < 0.05:
            lines.append(f"type=EOE {stamp}: ")
        return lines

    def avc(self) -> list[str]:
        stamp = self._stamp()
        pid, comm, _exe = self._proc()
        return [f"type=AVC {stamp}: avc:  denied  {{ read write }} for  pid={pid} comm={_value(comm)} "
                f'name="sock" dev="tmpfs" ino={self.rng.randint(100, 99999)} '
                f"scontext=system_u:system_r:container_t:s0:c12,c345 tcontext=system_u:object_r:var_run_t:s0 "
                f"tclass=sock_file permissive=0",
                self._syscall(stamp, 42, "connect", 0, "(null)"),
                f"type=PROCTITLE {stamp}: proctitle={b'/usr/sbin/nginx -g daemon off;'.hex().upper()}"]

    def user(self) -> list[str]:
        auid, aname, ses = self._ids()
        kind = self.rng.choice(USER_TYPES)
        op = "PAM:session_open" if kind.startswith("USER_") else "PAM:setcred"
        if kind.startswith("SERVICE"):
            unit = self.rng.choice(["crio", "kubelet", "sshd"])
            msg = f'unit={unit} comm="systemd" exe="/usr/lib/systemd/systemd" hostname=? addr=? terminal=? res=success'
        else:
            msg = f'op={op} grantors=pam_unix acct="{aname}" exe="/usr/bin/sudo" hostname=? addr=? ' \
                  f"terminal=/dev/pts/0 res=success"
        return [f"type={kind} {self._stamp()}: pid={self.pid} uid=0 auid={auid} ses={ses} "
                f"subj=system_u:system_r:init_t:s0 msg='{msg}'{GS}UID=\"root\" AUID=\"{aname}\""]

    def other(self) -> list[str]:
        stamp = self._stamp()
        if self.rng.random() < 0.5:
            return [f"type=NETFILTER_CFG {stamp}: table=nat:{self.rng.randint(1, 90)} family=2 entries=14 "
                    f"op=nft_register_rule pid={self.pid} subj=system_u:system_r:iptables_t:s0 comm=\"iptables\""]
        return [f"type=BPF {stamp}: prog-id={self.rng.randint(1, 900)} op={self.rng.choice(['LOAD', 'UNLOAD'])}"]


def generate(out: Path, megabytes: float, seed: int = 1) -> int:
    """Write about `megabytes` MB of audit log to `out`; returns the number of lines."""
    writer = _Writer(seed)
    kinds: list[Callable[[], list[str]]] = [writer.seccomp] * 45 + [writer.watch] * 8 + [writer.avc] * 4 + \
        [writer.user] * 14 + [writer.other] * 3
    target = int(megabytes * 1_000_000)
    written = lines = 0
    with out.open("w", encoding="utf-8", newline="\n") as handle:
        while written < target:
            block = [line for _ in range(2000) for line in writer.rng.choice(kinds)()]
            text = "\n".join(block) + "\n"
            handle.write(text)
            written += len(text.encode())
            lines += len(block)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--mb", type=float, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{args.out}: {generate(args.out, args.mb, args.seed)} lines")


if __name__ == "__main__":
    main()
