"""The SQLite backend's connection pool and writer queue (kefu/core/sqlite/base.py), on a real file."""

import threading
import time

import pytest
from django.db import connection

from kefu.core.sqlite.base import DatabaseWrapper, checkpointer

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend")


@pytest.fixture(autouse=True)
def _own_databases(django_db_blocker):
    # These wrappers open their own files, outside the test database.
    with django_db_blocker.unblock():
        yield


def _wrapper(path) -> DatabaseWrapper:
    # busy_timeout=0: SQLite alone would fail a second writer at once ("database is locked"), so a writer
    # that waits and then succeeds was queued by the backend.
    options = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=0;", "transaction_mode": "IMMEDIATE"}
    wrapper = DatabaseWrapper({**connection.settings_dict, "NAME": str(path), "OPTIONS": options}, alias="pool-test")
    wrapper.inc_thread_sharing()  # the tests hand wrappers to threads of their own
    return wrapper


def test_a_closed_connection_is_reused_by_the_next_request(tmp_path):
    first = _wrapper(tmp_path / "db.sqlite3")
    first.ensure_connection()
    raw = first.connection
    first.close()
    second = _wrapper(tmp_path / "db.sqlite3")
    second.ensure_connection()
    assert second.connection is raw
    second.close()


def _database_with_a_table(tmp_path):
    db = tmp_path / "db.sqlite3"
    setup = _wrapper(db)
    setup.cursor().execute("CREATE TABLE t (x INTEGER)")
    setup.close()
    return db


def test_an_unfinished_transaction_is_rolled_back_before_reuse(tmp_path):
    db = _database_with_a_table(tmp_path)
    writer = _wrapper(db)
    writer.ensure_connection()
    writer._start_transaction_under_autocommit()
    writer.cursor().execute("INSERT INTO t VALUES (1)")
    writer.close()  # e.g. a request that died half-way
    reader = _wrapper(db)
    with reader.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")
        assert cursor.fetchone() == (0,)
    reader.close()


def test_writers_take_turns_and_the_next_starts_when_the_first_commits(tmp_path):
    db = _database_with_a_table(tmp_path)
    order: list[str] = []
    first_started, second_waiting = threading.Event(), threading.Event()

    def first() -> None:
        wrapper = _wrapper(db)
        wrapper.ensure_connection()
        wrapper._start_transaction_under_autocommit()
        order.append("first began")
        first_started.set()
        second_waiting.wait(5)
        wrapper.cursor().execute("INSERT INTO t VALUES (1)")
        order.append("first commits")
        wrapper.commit()
        wrapper.close()

    def second() -> None:
        first_started.wait(5)
        wrapper = _wrapper(db)
        wrapper.ensure_connection()
        second_waiting.set()
        wrapper._start_transaction_under_autocommit()  # queues behind the first writer
        order.append("second began")
        wrapper.cursor().execute("INSERT INTO t VALUES (2)")
        wrapper.commit()
        wrapper.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == ["first began", "first commits", "second began"]
    check = _wrapper(db)
    with check.cursor() as cursor:
        cursor.execute("SELECT x FROM t ORDER BY x")
        assert cursor.fetchall() == [(1,), (2,)]
    check.close()


def test_the_write_ahead_log_is_checkpointed_after_the_writers_turn(tmp_path, monkeypatch):
    # SQLite's own checkpoint (inside a commit, holding the writers' turn) is pushed out to 10,000 pages;
    # the backend's checkpoint thread runs one every CHECKPOINT_EVERY commits, so the log is reused, not grown.
    monkeypatch.setattr("kefu.core.sqlite.base.CHECKPOINT_EVERY", 4)
    db = _database_with_a_table(tmp_path)
    writer = _wrapper(db)
    with writer.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone() == (10_000,)

    checkpoints = checkpointer(str(db))

    def commit_rows(count: int) -> None:
        for n in range(1, count + 1):
            before = checkpoints.done
            writer._start_transaction_under_autocommit()
            writer.cursor().execute("INSERT INTO t VALUES (randomblob(16000))")  # four pages a commit
            writer.commit()
            if n % 4 == 0:  # the process's checkpoint thread was asked; the commit did not wait for it
                deadline = time.monotonic() + 10
                while checkpoints.done == before and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert checkpoints.done > before

    commit_rows(8)
    size_after_eight = (tmp_path / "db.sqlite3-wal").stat().st_size
    commit_rows(40)
    assert (tmp_path / "db.sqlite3-wal").stat().st_size <= size_after_eight * 2
    writer.close()
