"""Process CPU time and memory high-water marks, read from getrusage and /proc (Linux)."""

from __future__ import annotations

import os
import resource
import threading
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")


def self_cpu_seconds() -> float:
    """User + system CPU of this process, all threads (aiosqlite's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def self_peak_rss_mb() -> float:
    """This process's RSS high-water mark (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def proc_cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU of a live process (or one of its threads); 0.0 when it is gone."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        with open(path, encoding="ascii") as f:
            raw = f.read()
    except OSError:
        return 0.0
    # The command name (field 2) may hold spaces; the fields after it are fixed.
    fields = raw.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


@dataclass(frozen=True, slots=True)
class Scheduling:
    """How a process spent its CPU: user and system seconds, and how often it ran."""

    user: float
    system: float
    slices: int  # times it was put on a CPU (/proc/<pid>/schedstat)
    waited: float  # seconds it was runnable but waited for a CPU
    voluntary: int  # switches away because it waited (I/O, a timer): wake-ups
    involuntary: int  # switches away because the scheduler took the CPU back

    def __add__(self, other: Scheduling) -> Scheduling:
        return Scheduling(
            self.user + other.user,
            self.system + other.system,
            self.slices + other.slices,
            self.waited + other.waited,
            self.voluntary + other.voluntary,
            self.involuntary + other.involuntary,
        )

    def __sub__(self, earlier: Scheduling) -> Scheduling:
        return self + Scheduling(
            -earlier.user,
            -earlier.system,
            -earlier.slices,
            -earlier.waited,
            -earlier.voluntary,
            -earlier.involuntary,
        )


NO_SCHEDULING = Scheduling(0.0, 0.0, 0, 0.0, 0, 0)


def proc_scheduling(pid: int) -> Scheduling:
    """A live process's Scheduling, its threads summed; zeros when it is gone."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return NO_SCHEDULING
    return sum((_thread_scheduling(f"/proc/{pid}/task/{tid}") for tid in tids), NO_SCHEDULING)


def _thread_scheduling(task: str) -> Scheduling:
    try:
        with open(f"{task}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"{task}/schedstat", encoding="ascii") as f:
            _, waited_ns, slices = (int(v) for v in f.read().split())
        switches: dict[str, int] = {}
        with open(f"{task}/status", encoding="ascii") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.endswith("ctxt_switches"):
                    switches[name] = int(value)
    except (OSError, ValueError):
        return NO_SCHEDULING  # a thread that ended meanwhile
    return Scheduling(
        int(fields[11]) / _TICKS,
        int(fields[12]) / _TICKS,
        slices,
        waited_ns / 1e9,
        switches.get("voluntary_ctxt_switches", 0),
        switches.get("nonvoluntary_ctxt_switches", 0),
    )


def proc_peak_rss_mb(pid: int) -> float:
    """VmHWM (RSS high-water mark) of a live process, in MiB; 0.0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def pool_pids(executor: ProcessPoolExecutor) -> list[int]:
    """The worker processes of a process pool (started lazily, so ask after using it).

    With the forkserver start method the workers are children of the fork
    server, not of this process, so RUSAGE_CHILDREN never sees them: they are
    read from /proc while they are alive.
    """
    processes = getattr(executor, "_processes", None) or {}
    return sorted(int(pid) for pid in processes)


def total_cpu(pids: Iterable[int]) -> float:
    return sum(proc_cpu_seconds(pid) for pid in pids)


def main_thread_cpu_seconds() -> float:
    """CPU of this process's main thread only (the event loop, when asyncio runs there).

    The rest of self_cpu_seconds() is spent in other threads: aiosqlite runs
    each SQLite connection in a thread of its own, so that share is mostly SQLite.
    """
    tid = threading.main_thread().native_id
    return 0.0 if tid is None else proc_cpu_seconds(os.getpid(), tid)


def system_busy_seconds() -> float:
    """CPU seconds all processes of the machine have been busy since boot (/proc/stat).

    The difference over an interval, minus what the benchmark's own processes
    used, is what other programs took: a noisy neighbour shows up there.
    """
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return 0.0
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    # guest time is already counted in user time
    return (sum(ticks[:8]) - idle) / _TICKS


def steal_seconds() -> float:
    """CPU seconds the hypervisor ran something else while this machine's CPUs wanted
    to run (/proc/stat's steal, all CPUs, since boot): a busy host shows up here."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return 0.0
    return int(fields[7]) / _TICKS if len(fields) > 7 else 0.0
