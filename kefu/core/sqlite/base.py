"""Django's SQLite backend with a per-process connection pool and a queue for writers.

Pool: under ASGI each request runs its synchronous code in a new thread and so opened a new SQLite
connection (~1 ms of schema read and pragmas, and a cold page cache) per request. Closing a connection
now returns it, rolled back, to a pool keyed by process and database file.

Writer queue: SQLite lets one transaction write at a time, and a writer that finds the database locked
sleeps in SQLite's busy handler in growing steps (up to 100 ms) even when the lock is freed a moment
later: under 8 concurrent API clients the p95 of ticket creation was ~450 ms. A transaction now first
takes an exclusive ``flock`` on ``<database>.writers`` (behind a per-process mutex), so waiting writers
queue in the kernel and the next one starts as soon as the previous one commits. The lock only orders
writers; SQLite's own locking still guarantees correctness. In-memory databases (the tests) use neither.

Checkpoints outside the queue and off the request: by default SQLite copies the write-ahead log back into
the database inside the commit that makes the log pass 1,000 pages, that is while the committing writer
still holds the queue; at ~80 pages per new ticket that was every dozen commits, and it made the mean time
a writer held the queue 60 % longer than the median (bench/results/intake-2026-11-22b/). After every
`CHECKPOINT_EVERY` commits a connection now asks its process's checkpoint thread for a PASSIVE
checkpoint (which never blocks writers) and goes on: run inline, each one (~40 ms with its fsync) had
held up the request that happened to trigger it. SQLite's own, at 10,000 pages, stays as a safety net.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import sqlite3
import threading
from typing import Any

from django.db.backends.sqlite3 import base

logger = logging.getLogger(__name__)
POOL_SIZE = int(os.environ.get("KEFU_DB_POOL_SIZE", "8"))
CHECKPOINT_EVERY = 128
AUTOCHECKPOINT_PAGES = 10_000
_pools: dict[tuple[int, str], queue.LifoQueue[sqlite3.Connection]] = {}
_writer_locks: dict[tuple[int, str], WriterLock] = {}
_registry_lock = threading.Lock()


def _pool(name: str) -> queue.LifoQueue[sqlite3.Connection]:
    # Keyed by pid: a connection or a lock file descriptor must never cross a fork.
    with _registry_lock:
        return _pools.setdefault((os.getpid(), name), queue.LifoQueue(maxsize=POOL_SIZE))


class WriterLock:
    def __init__(self, path: str) -> None:
        self._mutex = threading.Lock()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self) -> None:
        self._mutex.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._mutex.release()


class Checkpointer:
    """A daemon thread with its own connection that checkpoints the write-ahead log when asked.

    SQLite does the copying and the fsync with Python's GIL released, so requests go on meanwhile.
    Requests that come while a checkpoint runs fold into the next one."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._wanted = threading.Event()
        self.done = 0  # checkpoints run, for the tests
        threading.Thread(target=self._run, name="kefu-sqlite-checkpoint", daemon=True).start()

    def request(self) -> None:
        self._wanted.set()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path)
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                logger.exception("checkpoint of %s failed; the next request tries again", self._path)
            self.done += 1


_checkpointers: dict[tuple[int, str], Checkpointer] = {}


def checkpointer(name: str) -> Checkpointer:
    with _registry_lock:
        key = (os.getpid(), name)  # a thread does not survive a fork: each process starts its own
        if key not in _checkpointers:
            _checkpointers[key] = Checkpointer(name)
        return _checkpointers[key]


def writer_lock(name: str) -> WriterLock:
    with _registry_lock:
        key = (os.getpid(), name)
        if key not in _writer_locks:
            _writer_locks[key] = WriterLock(f"{name}.writers")
        return _writer_locks[key]


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer_lock = False
    _commits_since_checkpoint = 0

    def _on_file(self) -> bool:
        return not self.is_in_memory_db()

    def _name(self) -> str:
        return str(self.settings_dict["NAME"])

    def get_new_connection(self, conn_params: dict[str, Any]) -> sqlite3.Connection:
        if POOL_SIZE > 0 and self._on_file():
            try:
                return _pool(self._name()).get_nowait()
            except queue.Empty:
                pass
        conn: sqlite3.Connection = super().get_new_connection(conn_params)
        if self._on_file():
            conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        return conn

    def _start_transaction_under_autocommit(self) -> None:
        if self._on_file() and not self._holds_writer_lock:
            writer_lock(self._name()).acquire()
            self._holds_writer_lock = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_writer_lock()
            raise

    def _release_writer_lock(self) -> None:
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            writer_lock(self._name()).release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_writer_lock()
        self._checkpoint_now_and_then()

    def _checkpoint_now_and_then(self) -> None:
        if not self._on_file() or self.connection is None:
            return
        self._commits_since_checkpoint += 1
        if self._commits_since_checkpoint >= CHECKPOINT_EVERY:
            self._commits_since_checkpoint = 0
            checkpointer(self._name()).request()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_writer_lock()

    def _close(self) -> None:
        conn = self.connection
        try:
            if conn is None or POOL_SIZE <= 0 or not self._on_file():
                super()._close()  # type: ignore[misc]
                return
            with self.wrap_database_errors:
                if conn.in_transaction:
                    conn.rollback()
                try:
                    _pool(self._name()).put_nowait(conn)
                except queue.Full:
                    conn.close()
        finally:
            self._release_writer_lock()
