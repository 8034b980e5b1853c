"""Stress: a Python filelock.FileLock holder taking turns with memshare workers.

Now and then takes filelock.FileLock on NAME.lock — the module memshare
replaces, on the same lock file — and checks through its own mmap of the
data file that no memshare holder is inside meanwhile: the owner word must
be 0, or name a holder that died there (killed by the driver, not yet
recovered). Then it runs the same counter increment as the workers under
its own slot, and checks on the way out that the owner word did not move.

argv[1]: JSON with the paths and the layout's word indexes (see layout.ts).
Runs until the stop word is set or its parent dies; prints `violation ...`
lines as it finds problems and, last, one line `result {json}`.
"""

import json
import mmap
import os
import random
import struct
import sys
import time

import filelock

cfg = json.loads(sys.argv[1])
OWNER, OWNER_PID, COUNTER, STOP = (cfg[k] for k in ("owner", "ownerPid", "counter", "stop"))
DONE, SLOT, BASE = cfg["done"], cfg["slot"], cfg["header"]

data = open(cfg["data"], "r+b")
memory = mmap.mmap(data.fileno(), BASE + cfg["length"])


def word(index):
    return struct.unpack_from("<I", memory, BASE + 4 * index)[0]


def set_word(index, value):
    struct.pack_into("<I", memory, BASE + 4 * index, value & 0xFFFFFFFF)


def alive(pid):
    """Whether pid runs (a zombie — killed, not yet reaped — does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


stats = {"turns": 0, "timeouts": 0, "deadOwner": 0, "violations": 0}


def violation(text):
    stats["violations"] += 1
    print(f"violation python: {text}", flush=True)


def turn():
    owner = word(OWNER)
    mine = owner == 0
    if mine:
        set_word(OWNER_PID, os.getpid())
        set_word(OWNER, SLOT)
    elif owner == SLOT:
        violation("the owner word was already Python's")
    else:
        pid = word(OWNER_PID)
        # A killed holder's lock is freed a moment before it is a zombie:
        # only one still running after that moment was really inside.
        if alive(pid):
            time.sleep(0.02)
        if alive(pid):
            violation(f"memshare slot {owner} (pid {pid}) is inside while Python holds the lock")
        else:
            stats["deadOwner"] += 1
    value = word(COUNTER)
    time.sleep(random.uniform(0.001, 0.005))
    set_word(COUNTER, value + 1)
    set_word(DONE + SLOT, word(DONE + SLOT) + 1)
    now = word(OWNER)
    if now != (SLOT if mine else owner):
        violation(f"the owner word changed to {now} during Python's turn")
    elif mine:
        set_word(OWNER, 0)
    stats["turns"] += 1


lock = filelock.FileLock(cfg["lock"])
parent = os.getppid()
while word(STOP) == 0 and os.getppid() == parent:
    time.sleep(random.uniform(0.01, 0.1))
    try:
        lock.acquire(timeout=random.choice((0, 0.05, 0.5, 2)), poll_interval=0.0005)
    except filelock.Timeout:
        stats["timeouts"] += 1
        continue
    try:
        turn()
    finally:
        lock.release()

memory.close()
data.close()
print("result " + json.dumps(stats), flush=True)
