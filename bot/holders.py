"""Who holds a claim or a lease: one name per running process, and whether it still runs.

A name is `machine:pid:random`: unique per process (a restart gets a new one, so
it never mistakes its predecessor's claims for its own), and telling which
machine and process it is, so a process on the same machine can see that a
holder died (kill -9, a crash) and take over at once instead of waiting for
its claims to expire.
"""

from __future__ import annotations

import os
import socket
import uuid


def machine_name() -> str:
    """The host name, with the PID namespace when there is one: two containers that
    share a host name but not their process ids must not judge each other's pids."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()}/{namespace}"


def holder_name() -> str:
    """machine:pid:random — unique per process, and telling which machine and process hold it."""
    return f"{machine_name()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str) -> bool:
    """True only when the holder ran on this machine and that process is gone.

    A holder elsewhere, a holder name we cannot read, or a process we may not
    signal counts as alive: its claims are left to expire.
    """
    host, _, rest = holder.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != machine_name() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # an earlier instance in this process (tests restart services)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
