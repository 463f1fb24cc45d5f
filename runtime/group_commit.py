"""Durable SQLite transactions shared by many concurrent requests (group commit).

Every write that must be durable before an answer leaves (a TTP record update before M3, a
holder's counter before M1 or M2) is submitted as a function of a connection. One writer thread
takes every function queued so far and runs them in a single ``BEGIN IMMEDIATE`` transaction,
each seeing the earlier writes of its batch. It commits once with ``synchronous=FULL`` (one
fsync for the whole batch) and only then hands each caller its result. If a function raises, the
batch is redone with a savepoint per function, so that only that function fails. If the commit
fails, every caller of the batch gets ``StoreUnavailable`` and none of their answers leaves.

Under load the batch grows by itself: while one fsync runs, the next batch queues up, so the cost
of durability per request falls as concurrency rises.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class StoreUnavailable(Exception):
    """The store could not commit; nothing of the batch was written."""


@dataclass(slots=True)
class _Job(Generic[T]):
    work: Callable[[sqlite3.Connection], T]
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


_Outcome = tuple[_Job[Any], Any, BaseException | None]

# CPython's sqlite3 binds int, float, str and bytearray parameters directly but sends every bytes
# parameter (every DID, DK and counter we store) through its adapter protocol, whose failing
# ``__adapt__`` look-up on a type formats and discards an AttributeError each time. Registering the
# identity adapter makes that a dictionary hit; the bound value is the same BLOB.
sqlite3.register_adapter(bytes, bytes)


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN ourselves), WAL, full durability."""
    connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA busy_timeout=5000")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


@contextlib.contextmanager
def immediate_transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One serialised write transaction for code that does not go through a committer."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


class GroupCommitter:
    """Runs submitted write functions in shared, durable transactions on one writer thread."""

    def __init__(self, path: Path | str, *, max_batch: int = 256, name: str = "store") -> None:
        self._path = path
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"{name}-writer", daemon=True)
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._closed = False
        self._stopped = False  # the writer thread has ended (is_alive() costs a lock per call)
        self.batches = 0
        self.jobs = 0
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise StoreUnavailable(f"cannot open {path}") from self._startup_error

    async def submit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in the next batch; return once its batch is durable."""
        if self._closed or self._stopped:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(work, future, loop))
        return await future

    def close(self) -> None:
        """Finish the work queued so far and stop the writer thread; later submits fail."""
        self._closed = True
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._fail_leftovers()

    def _fail_leftovers(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                failure = StoreUnavailable("the store is closed")
                job.loop.call_soon_threadsafe(_settle, job.future, None, failure)

    def _run(self) -> None:
        try:
            connection = connect(self._path)
        except BaseException as error:  # reported to the constructor's caller
            self._startup_error = error
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < self._max_batch:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    batch.append(job)
                self._run_batch(connection, batch)
                if stop:
                    return
        finally:
            self._stopped = True
            connection.close()

    def _run_batch(self, connection: sqlite3.Connection, batch: list[_Job[Any]]) -> None:
        try:
            try:
                outcomes = self._run_jobs(connection, batch, isolate=False)
            except _JobFailed:
                # Rare: redo the batch with a savepoint per job, so that only the failing job
                # fails. Nothing was released yet, so running the jobs again is safe.
                outcomes = self._run_jobs(connection, batch, isolate=True)
        except sqlite3.Error as commit_error:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            failure = StoreUnavailable("the store could not commit")
            failure.__cause__ = commit_error
            outcomes = [(job, None, failure) for job in batch]
        self.batches += 1
        self.jobs += len(batch)
        # One wake-up per event loop for the whole batch, not one per job.
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].loop, []).append(outcome)
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that caller's event loop is closed
                loop.call_soon_threadsafe(_settle_all, settled)

    @staticmethod
    def _run_jobs(
        connection: sqlite3.Connection, batch: list[_Job[Any]], *, isolate: bool
    ) -> list[_Outcome]:
        """One transaction for the batch; ``isolate`` gives each job its own savepoint."""
        outcomes: list[_Outcome] = []
        connection.execute("BEGIN IMMEDIATE")
        for job in batch:
            if not isolate:
                try:
                    outcomes.append((job, job.work(connection), None))
                except Exception as error:
                    connection.execute("ROLLBACK")
                    raise _JobFailed from error
                continue
            connection.execute("SAVEPOINT job")
            try:
                result = job.work(connection)
            except Exception as error:
                connection.execute("ROLLBACK TO job")
                outcomes.append((job, None, _as_store_error(error)))
            else:
                outcomes.append((job, result, None))
            connection.execute("RELEASE job")
        connection.execute("COMMIT")
        return outcomes


class _JobFailed(Exception):
    """A job of a batch run without savepoints raised; the batch is redone with them."""


async def finish_durably(write: Awaitable[T], settle: Callable[[T], None]) -> T:
    """Await a durable write whose result memory must follow, even if the caller is cancelled.

    A cancelled gRPC handler must not leave a write landed on disk but unknown in memory (the
    next conditional write would then conflict). The write runs to its end in its own task,
    ``settle`` applies its result as soon as it lands, and a cancelled caller waits for that before
    its cancellation propagates (so whatever lock it holds is released on a settled state).
    """
    task = asyncio.ensure_future(write)

    def apply(done: asyncio.Future[T]) -> None:
        if not done.cancelled() and done.exception() is None:
            settle(done.result())

    task.add_done_callback(apply)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


def _as_store_error(error: Exception) -> Exception:
    """A database error inside a job means the store, not the request, failed."""
    if isinstance(error, sqlite3.Error):
        failure = StoreUnavailable(f"the store refused a write: {error}")
        failure.__cause__ = error
        return failure
    return error


def _settle_all(outcomes: list[_Outcome]) -> None:
    for job, result, error in outcomes:
        _settle(job.future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
