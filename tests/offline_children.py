"""Stand-ins for the offline evaluation child (``neurons.offline._CHILD``) used by test_offline_faults.py.

Kept free of imports beyond the standard library, so a spawned process starts them quickly: each speaks the
real pipe protocol, ``("progress", faults, {})`` while running, then ``(status, score, details)``.
"""

from __future__ import annotations

import os
import time


def faults_then_hang(conn, *args) -> None:
    conn.send(("progress", 2, {}))
    time.sleep(60)


def hang(conn, *args) -> None:
    time.sleep(60)


def faults_then_die(conn, *args) -> None:
    conn.send(("progress", 1, {}))
    os._exit(137)  # as the kernel's OOM killer leaves it


def finish_with_faults(conn, *args) -> None:
    conn.send(("progress", 1, {}))
    conn.send(("ok", 0.75, {"tasks": 4, "model_faults": {"budget_exceeded:walk": 1}}))
