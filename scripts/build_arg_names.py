#!/usr/bin/env python3
"""Regenerate generator/data/arg_names.json: the names of argument values reports decode
(AF_NETLINK, SOCK_STREAM|SOCK_CLOEXEC, TIOCGWINSZ, PR_GET_DUMPABLE, CLONE_VM|...|SIGCHLD).

The names are read from the kernel's and the C library's headers in /usr/include (Debian packages
linux-libc-dev and libc6-dev), and their values are the C compiler's: a C program that prints every
name is built with gcc, so _IOR('T', 0x30, unsigned int), enums and conditional definitions come out
exactly as a program compiled on this machine (x86_64) sees them. A name the compiler cannot
evaluate (a macro for another word size, one that needs a type no header here gives) is left out.
Where two names share a value the first in header order is kept and the others are aliases, unless
PREFER (below, with its reason) says otherwise. tests/test_explain.py checks that the file is what
this script writes.

    python scripts/build_arg_names.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seccomp_gen.ground.jsonio import dumps_stable

OUT = Path(__file__).resolve().parent.parent / "generator" / "data" / "arg_names.json"
INCLUDE = Path("/usr/include")
PACKAGES = ("linux-libc-dev", "libc6-dev")
#: Names kept over an earlier alias of the same value: AF_UNIX is POSIX's name (man 7 unix), which
#: glibc defines after AF_LOCAL; IP_MTU_DISCOVER is the documented name of glibc's older IP_PMTUDISC;
#: SIGCHLD is POSIX's name, SIGCLD the System V alias glibc defines first.
PREFER = frozenset({"AF_UNIX", "IP_MTU_DISCOVER", "SIGCHLD"})


@dataclass(frozen=True)
class Family:
    """One family of names: where they are read from, which names belong to it, how values combine."""

    why: str
    includes: tuple[str, ...]  # what the C program includes to evaluate them
    headers: tuple[str, ...]  # the headers whose #defines (and enum members) are the family's names
    pattern: str  # a name of the family
    exclude: str = ""  # names that match the pattern but are not values of the argument (why says which)
    column0: bool = False  # only `#define` at column 0 (prctl.h writes argument values as `# define`)
    flags: str = ""  # names that are single bits ORed into the value
    base_mask: int = 0  # the bits of the value that are not flags
    base_family: str = ""  # the family that names those bits (the exit signal of clone)
    base_last: bool = False  # show the base after the flags (CLONE_VM|...|SIGCHLD, as strace does)
    hex: bool = False  # show numbers in hex (ioctl requests, flag words)
    by_level: tuple[tuple[str, str], ...] = ()  # socket option names depend on the level


_SOCKET = ("sys/socket.h", "netinet/in.h", "netinet/tcp.h", "netinet/udp.h")
_IOCTL = ("asm/termbits.h", "asm/ioctls.h", "asm/sockios.h", "linux/sockios.h", "linux/if_tun.h", "linux/fs.h",
          "linux/nsfs.h", "linux/random.h", "linux/seccomp.h", "linux/loop.h", "linux/perf_event.h")
FAMILIES: dict[str, Family] = {
    "AF": Family("socket and socketpair domains (address families); AF_MAX is a bound, not a family",
                 _SOCKET, ("bits/socket.h",), r"AF_\w+", exclude=r"AF_MAX"),
    "SOCK": Family("socket types, with the SOCK_NONBLOCK and SOCK_CLOEXEC flags ORed in",
                   _SOCKET, ("bits/socket_type.h",), r"SOCK_\w+", flags=r"SOCK_(NONBLOCK|CLOEXEC)", base_mask=0xF),
    "PR": Family("prctl options; prctl.h writes each option's argument values as '# define' below it, so only "
                 "'#define' at column 0 is an option", ("linux/prctl.h",), ("linux/prctl.h",), r"PR_\w+",
                 column0=True),
    "IOCTL": Family("ioctl requests common on Linux: terminals, sockets and interfaces, tun/tap, file systems "
                    "and block devices, namespaces, random, seccomp notify, loop, perf; TIOCPKT_* and "
                    "TIOCSER_TEMT are argument values, not requests. Values as on x86_64 and the other "
                    "architectures that use asm-generic/ioctls.h (alpha, mips, powerpc and sparc differ)",
                    _IOCTL, ("asm-generic/ioctls.h", "asm-generic/sockios.h", "linux/sockios.h", "linux/if_tun.h",
                             "linux/fs.h", "linux/nsfs.h", "linux/random.h", "linux/seccomp.h", "linux/loop.h",
                             "linux/perf_event.h"),
                    r"(TC|TIOC|FIO|SIOC|TUN[A-Z0-9]+$|FI[A-Z]+$|FS_IOC|BLK[A-Z0-9]+$|NS_GET_|RND|SECCOMP_IOCTL_"
                    r"|LOOP_|PERF_EVENT_IOC_)\w*", exclude=r"TIOCPKT_\w+|TIOCSER_TEMT|SIOCPROTOPRIVATE|SIOCDEVPRIVATE"
                    r"|TUN_\w+|LOOP_[A-Z]+_FLAGS\w*|FIOQSIZE_unused", hex=True),
    "F": Family("fcntl commands; lock types (F_RDLCK...), owner types (F_OWNER_*), seals (F_SEAL_*) and "
                "F_LINUX_SPECIFIC_BASE are argument values or bases, not commands",
                ("linux/fcntl.h",), ("asm-generic/fcntl.h", "linux/fcntl.h"), r"F_\w+",
                exclude=r"F_(RDLCK|WRLCK|UNLCK|EXLCK|SHLCK|OWNER_\w+|SEAL_\w+|LINUX_SPECIFIC_BASE|OK)"),
    "PER": Family("personality values: an execution domain (PER_*) in the low byte, with the personality flags "
                  "(ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC...) ORed in", ("linux/personality.h",),
                  ("linux/personality.h",), r"PER_\w+|UNAME26|ADDR_\w+|FDPIC_FUNCPTRS|MMAP_PAGE_ZERO"
                  r"|READ_IMPLIES_EXEC|SHORT_INODE|WHOLE_SECONDS|STICKY_TIMEOUTS",
                  exclude=r"PER_MASK|PER_CLEAR_ON_SETID",
                  flags=r"(?!PER_)\w+", base_mask=0xFF, hex=True),
    "CLONE": Family("clone flags; the low byte (CSIGNAL) is the signal sent to the parent at exit, so CLONE_NEWTIME "
                    "(0x80, clone3 and unshare only) and the clone_args sizes are left out", ("linux/sched.h",),
                    ("linux/sched.h",), r"CLONE_\w+", exclude=r"CLONE_NEWTIME|CLONE_ARGS_\w+", flags=r"CLONE_\w+",
                    base_mask=0xFF, base_family="SIG", base_last=True, hex=True),
    "SIG": Family("signal numbers (clone's exit signal)", ("signal.h",),
                  ("bits/signum-generic.h", "bits/signum-arch.h"), r"SIG[A-Z0-9]+", exclude=r"SIGSTKSZ"),
    "SOL": Family("socket option levels: SOL_SOCKET, and the protocol numbers (IPPROTO_*) options of a protocol "
                  "are set at", _SOCKET, ("asm-generic/socket.h", "bits/socket.h", "netinet/in.h"),
                  r"SOL_\w+|IPPROTO_\w+", exclude=r"IPPROTO_MAX"),
    "SO": Family("socket option names: what an optname means depends on the level (SOL_SOCKET: SO_*, "
                 "IPPROTO_TCP: TCP_*, IPPROTO_IP: IP_*, IPPROTO_IPV6: IPV6_*, IPPROTO_UDP: UDP_*)", (), (), r"$^",
                 by_level=(("SOL_SOCKET", "SO_SOCKET"), ("IPPROTO_TCP", "SO_TCP"), ("IPPROTO_IP", "SO_IP"),
                           ("IPPROTO_IPV6", "SO_IPV6"), ("IPPROTO_UDP", "SO_UDP"))),
    "SO_SOCKET": Family("SOL_SOCKET options", _SOCKET, ("asm-generic/socket.h",), r"SO_\w+"),
    "SO_TCP": Family("IPPROTO_TCP options; TCP_REPAIR_ON/OFF are values, and TCP_MSS, TCP_MAXWIN, TCP_MD5SIG_*, "
                     "TCP_COOKIE_MIN/MAX..., TCP_S_DATA_* are constants, and TCP_CA_* and the connection states "
                     "(TCP_ESTABLISHED...) are enums of tcp_info, not options", _SOCKET, ("netinet/tcp.h",),
                     r"TCP_\w+",
                     exclude=r"TCP_(REPAIR_(ON|OFF|OFF_NO_WP)|MSS|MSS_DEFAULT|MSS_DESIRED|MAXWIN|MAX_WINSHIFT"
                     r"|MD5SIG_MAXKEYLEN|MD5SIG_FLAG_\w+|COOKIE_(MIN|MAX|PAIR_SIZE|IN_ALWAYS|OUT_NEVER)|S_DATA_\w+"
                     r"|CA_\w+|ESTABLISHED|SYN_SENT|SYN_RECV|FIN_WAIT1|FIN_WAIT2|TIME_WAIT|CLOSE|CLOSE_WAIT|LAST_ACK"
                     r"|LISTEN|CLOSING)"),
    "SO_IP": Family("IPPROTO_IP options; IP_PMTUDISC_* are IP_MTU_DISCOVER's values, IP_DEFAULT_*/IP_MAX_* "
                    "constants", _SOCKET, ("bits/in.h",), r"IP_\w+", exclude=r"IP_(PMTUDISC_\w+|DEFAULT_\w+|MAX_\w+)"),
    "SO_IPV6": Family("IPPROTO_IPV6 options; IPV6_PMTUDISC_* and IPV6_RTHDR_LOOSE/STRICT/TYPE_0 are values",
                      _SOCKET, ("bits/in.h",), r"IPV6_\w+",
                      exclude=r"IPV6_(PMTUDISC_\w+|RTHDR_LOOSE|RTHDR_STRICT|RTHDR_TYPE_0)"),
    "SO_UDP": Family("IPPROTO_UDP options; UDP_ENCAP_* are UDP_ENCAP's values", _SOCKET, ("netinet/udp.h",),
                     r"UDP_\w+", exclude=r"UDP_ENCAP_\w+"),
}


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def header_path(name: str) -> Path:
    """Where `name` is: /usr/include, or its multiarch folder (bits/ lives in x86_64-linux-gnu/)."""
    for folder in (INCLUDE / _run("gcc", "-print-multiarch"), INCLUDE):
        if (folder / name).is_file() and not (folder / name).is_symlink():
            return folder / name
    raise SystemExit(f"no header {name} in {INCLUDE}: install linux-libc-dev and libc6-dev")


def names_in(family: Family) -> list[str]:
    """The family's names, in header order (#define and enum members)."""
    define = r"^#define" if family.column0 else r"^\s*#\s*define"
    found: list[str] = []
    for header in family.headers:
        text = header_path(header).read_text()
        pattern = rf"(?:{define}\s+(\w+)(?=\s|$))|(?:^\s*(\w+)\s*=)"
        for match in re.finditer(pattern, text, re.MULTILINE):
            name = match.group(1) or match.group(2)
            excluded = family.exclude and re.fullmatch(family.exclude, name)
            if re.fullmatch(family.pattern, name) and not excluded and name not in found:
                found.append(name)
    return found


def evaluate(includes: tuple[str, ...], names: list[str]) -> dict[str, int]:
    """name -> value as gcc evaluates it; names it cannot evaluate (or negative ones) are left out."""
    names = list(names)
    with tempfile.TemporaryDirectory() as tmp:
        for _attempt in range(20):
            head = "".join(f"#include <{inc}>\n" for inc in ("stdio.h", *includes))
            lines = [f'printf("%s %lld\\n", "{n}", (long long)({n}));' for n in names]
            first = head.count("\n") + 2
            source = head + "int main(void) {\n" + "\n".join(lines) + "\nreturn 0;\n}\n"
            Path(tmp, "names.c").write_text(source)
            built = subprocess.run(["gcc", "-w", "-o", f"{tmp}/names", f"{tmp}/names.c"], capture_output=True,
                                   text=True)
            if built.returncode == 0:
                out = _run(f"{tmp}/names")
                values = {n: int(v) for n, v in (line.split() for line in out.splitlines())}
                return {n: v for n, v in values.items() if v >= 0}
            bad = {int(m) - first for m in re.findall(r"names\.c:(\d+):\d+: error", built.stderr)}
            if not bad or not all(0 <= i < len(names) for i in bad):
                raise SystemExit(f"gcc failed outside the names:\n{built.stderr[:2000]}")
            names = [n for i, n in enumerate(names) if i not in bad]
    raise SystemExit("gcc kept failing")


def _entry(family: Family, values: dict[str, int], order: list[str]) -> dict[str, Any]:
    flags = {n: v for n, v in values.items() if family.flags and re.fullmatch(family.flags, n)
             and v > family.base_mask and v & (v - 1) == 0}
    names: dict[str, int] = {}
    aliases: dict[str, str] = {}
    by_value: dict[int, str] = {}
    for name in sorted((n for n in order if n in values and n not in flags), key=lambda n: n not in PREFER):
        value = values[name]
        if value in by_value:
            aliases[name] = by_value[value]
        else:
            by_value[value] = name
            names[name] = value
    entry: dict[str, Any] = {
        "why": family.why, "hex": family.hex, "names": names, "aliases": aliases,
        "headers": [f"{header_path(h)} ({package_of(header_path(h))})" for h in family.headers],
    }
    if family.flags:
        entry.update(flags=flags, base_mask=family.base_mask, base_last=family.base_last)
    if family.base_family:
        entry["base_family"] = family.base_family
    if family.by_level:
        entry["by_level"] = dict(family.by_level)
    return entry


def package_of(path: Path) -> str:
    """The Debian package (and version) a header comes from."""
    package = _run("dpkg-query", "-S", str(path)).split(":")[0].split(",")[0]
    return f"{package} {_run('dpkg-query', '-W', '-f', '${Version}', package)}"


def versions() -> dict[str, str]:
    """The installed versions of the header packages (the test compares them before the contents)."""
    return {p: _run("dpkg-query", "-W", "-f", "${Version}", p) for p in (*PACKAGES, "gcc")}


def table() -> dict[str, Any]:
    families = {}
    for key, family in FAMILIES.items():
        order = names_in(family)
        families[key] = _entry(family, evaluate(family.includes, order) if order else {}, order)
    found = versions()
    return {
        "_about": ("Names of syscall argument values, for reports (check, verify, generate --narrow-args), generated "
                   "by scripts/build_arg_names.py from the headers in /usr/include (each family's `headers`, with "
                   "the Debian package that ships it), with values as gcc evaluates them for x86_64. Built with "
                   + ", ".join(f"{p} {v}" for p, v in sorted(found.items())) + ". A value with no name here is "
                   "shown as a number."),
        "packages": found,
        "families": families,
    }


if __name__ == "__main__":
    OUT.write_text(dumps_stable(table()))
    print(f"wrote {OUT}")
