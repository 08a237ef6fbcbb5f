"""The sweep ledger: a durable record of every finished unit, written by the driver only.

Contract:

* :class:`Ledger` is one SQLite file in WAL mode. SQLite, because an insert keyed by the unit id
  (``INSERT OR IGNORE`` on the primary key, one transaction per result) makes recording a result
  exactly-once and crash-safe: a driver killed mid-sweep leaves every committed result intact and
  no half-written one; it needs no dependency beyond the standard library, and the file is
  readable by any tool (``sqlite3``, pandas, a notebook) while a sweep is still writing it. WAL
  mode lets readers (a report, ``sqlite3`` in another terminal) read while the driver writes,
  and keeps each commit to one append.
* Only the driver writes: workers return results to it and it streams them in as they arrive,
  so no result is held in memory after it is committed.
* :meth:`Ledger.record` returns True when the unit was new, False when it was already there
  (a duplicate is never written). :meth:`Ledger.missing` filters a plan down to the units with
  no result: exactly the set a resumed sweep runs.
* Infrastructure incidents (``dead_worker``, ``lost_node``, ``unreachable``, ``timeout``) are
  logged per unit
  (:meth:`Ledger.incident`), so that retry and quarantine counts survive a driver restart.
* One driver at a time: a :class:`Ledger` holds an exclusive ``flock`` on its file while open,
  so a second sweep on the same ledger is refused at once (:class:`LedgerError`) instead of
  waiting on SQLite's lock; readers (a report, ``sqlite3``) take no such lock. A path that is a
  directory, a file that is not SQLite, or an SQLite file without a ledger's tables is refused
  the same way, before anything is written to it.
* Statuses: ``passed``, ``failed`` (a check failed: a result, not a failure of the sweep's
  machinery), ``error`` (an agent could not do its part, e.g. an engine refusal), ``quarantined``
  (the unit killed its worker ``quarantine_after`` times) and ``lost`` (infrastructure failures
  beyond the retry budget).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["STATUSES", "Ledger", "LedgerError", "LedgerRow", "remove_ledger"]

STATUSES = ("passed", "failed", "error", "quarantined", "lost")
"""Every status a unit can end with."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    unit_id     TEXT PRIMARY KEY,
    scenario    TEXT NOT NULL,
    kernel      TEXT NOT NULL,
    mode        TEXT NOT NULL,
    activities  TEXT NOT NULL,
    seed_index  INTEGER NOT NULL,
    seed        TEXT NOT NULL,
    status      TEXT NOT NULL,
    coherent    INTEGER NOT NULL,
    max_abs_err REAL,
    max_rel_err REAL,
    seconds     REAL NOT NULL,
    attempts    INTEGER NOT NULL,
    node        TEXT,
    run_id      INTEGER,
    finished_at REAL NOT NULL,
    detail      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incidents (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id TEXT NOT NULL,
    kind    TEXT NOT NULL,
    message TEXT NOT NULL,
    node    TEXT,
    run_id  INTEGER,
    at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_unit ON incidents (unit_id);
CREATE TABLE IF NOT EXISTS runs (
    run_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    started   REAL NOT NULL,
    planned   INTEGER NOT NULL,
    todo      INTEGER NOT NULL,
    recorded  INTEGER NOT NULL DEFAULT 0,
    finished  REAL
);
"""

_TABLES = {"meta", "results", "incidents", "runs"}


class LedgerError(ValueError):
    """A path that cannot serve as a ledger; the message names it and says what to do."""


LedgerRow = dict[str, Any]
"""A result as stored: the ``results`` columns by name (``detail`` parsed from JSON)."""

_COLUMNS = ("unit_id", "scenario", "kernel", "mode", "activities", "seed_index", "seed",
            "status", "coherent", "max_abs_err", "max_rel_err", "seconds", "attempts", "node",
            "run_id", "finished_at", "detail")


class Ledger:
    """A sweep's SQLite ledger (see the module contract).

    Examples:
        >>> import tempfile, os
        >>> led = Ledger(os.path.join(tempfile.mkdtemp(), "demo.sweep.db"))
        >>> row = dict(unit_id="u1", scenario="s", kernel="k", mode="Reverse",
        ...            activities="x:Active", seed_index=0, seed=1, status="passed", coherent=True, seconds=0.1)
        >>> led.record(row), led.record(row), led.count()
        (True, False, 1)
        >>> list(led.missing(["u1", "u2"]))
        ['u2']
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        _check_is_ledger(self.path)
        self._lock = _writer_lock(self.path)
        self.db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.run_id: int | None = None

    # -- writing (the driver only) --------------------------------------------------------------

    def set_meta(self, **values: Any) -> None:
        """Store sweep-level facts (JSON-encoded)."""
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                [(k, json.dumps(v)) for k, v in values.items()])

    def start_run(self, planned: int, todo: int) -> int:
        """Log the start of a (possibly resumed) run; returns its id."""
        with self.db:
            cur = self.db.execute("INSERT INTO runs (started, planned, todo) VALUES (?, ?, ?)",
                                  (time.time(), planned, todo))
        self.run_id = cur.lastrowid
        return self.run_id

    def finish_run(self) -> None:
        """Mark the current run finished."""
        if self.run_id is not None:
            with self.db:
                self.db.execute("UPDATE runs SET finished = ? WHERE run_id = ?",
                                (time.time(), self.run_id))

    def record(self, row: LedgerRow) -> bool:
        """Insert one result, in its own transaction; False when the unit already had one."""
        values = dict(row)
        values.setdefault("max_abs_err", None)
        values.setdefault("max_rel_err", None)
        values.setdefault("attempts", 1)
        values.setdefault("node", None)
        values.setdefault("finished_at", time.time())
        values["detail"] = json.dumps(values.get("detail") or {})
        values["seed"] = str(values["seed"])
        values["coherent"] = int(bool(values["coherent"]))
        values["run_id"] = self.run_id
        with self.db:
            cur = self.db.execute(
                f"INSERT OR IGNORE INTO results ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                [values[c] for c in _COLUMNS])
            new = cur.rowcount == 1
            if new and self.run_id is not None:
                self.db.execute("UPDATE runs SET recorded = recorded + 1 WHERE run_id = ?",
                                (self.run_id,))
        return new

    def incident(self, unit: str, kind: str, message: str, node: str | None = None) -> None:
        """Log an infrastructure failure of ``unit`` (see the module contract for the kinds)."""
        with self.db:
            self.db.execute("INSERT INTO incidents (unit_id, kind, message, node, run_id, at) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (unit, kind, message[:2000], node, self.run_id, time.time()))

    def delete(self, statuses: Iterable[str]) -> int:
        """Forget the results with these statuses (to run them again); returns how many."""
        marks = list(statuses)
        with self.db:
            cur = self.db.execute(
                f"DELETE FROM results WHERE status IN ({', '.join('?' * len(marks))})", marks)
        return cur.rowcount

    # -- reading ---------------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        """The sweep-level facts."""
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta")}

    def count(self, status: str | None = None) -> int:
        """How many results (with ``status`` when given)."""
        if status is None:
            return self.db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM results WHERE status = ?",
                               (status,)).fetchone()[0]

    def has(self, unit: str) -> bool:
        """Whether ``unit`` has a result."""
        return self.db.execute("SELECT 1 FROM results WHERE unit_id = ?",
                               (unit,)).fetchone() is not None

    def missing(self, units: Iterable[Any], chunk: int = 500) -> Iterator[Any]:
        """The units (ids, or objects with ``unit_id``) that have no result, in plan order."""
        batch: list[Any] = []

        def flush():
            ids = [getattr(u, "unit_id", u) for u in batch]
            done = {r[0] for r in self.db.execute(
                f"SELECT unit_id FROM results WHERE unit_id IN ({', '.join('?' * len(ids))})",
                ids)}
            return [u for u, i in zip(batch, ids, strict=True) if i not in done]

        for u in units:
            batch.append(u)
            if len(batch) >= chunk:
                yield from flush()
                batch = []
        if batch:
            yield from flush()

    def incident_counts(self) -> dict[str, dict[str, int]]:
        """unit id → incident kind → count, for units without a result."""
        out: dict[str, dict[str, int]] = {}
        for unit, kind, n in self.db.execute(
                "SELECT unit_id, kind, COUNT(*) FROM incidents WHERE unit_id NOT IN "
                "(SELECT unit_id FROM results) GROUP BY unit_id, kind"):
            out.setdefault(unit, {})[kind] = n
        return out

    def incidents(self) -> list[dict[str, Any]]:
        """Every incident, oldest first."""
        cur = self.db.execute("SELECT unit_id, kind, message, node, run_id, at FROM incidents "
                              "ORDER BY id")
        return [dict(zip(("unit_id", "kind", "message", "node", "run_id", "at"), r, strict=True))
                for r in cur]

    def runs(self) -> list[dict[str, Any]]:
        """Every run of this ledger, oldest first."""
        cur = self.db.execute("SELECT run_id, started, planned, todo, recorded, finished "
                              "FROM runs ORDER BY run_id")
        return [dict(zip(("run_id", "started", "planned", "todo", "recorded", "finished"), r,
                         strict=True)) for r in cur]

    def rows(self, where: str = "", params: Iterable[Any] = (),
             columns: Iterable[str] = _COLUMNS) -> Iterator[LedgerRow]:
        """Stream results (``where`` is an SQL condition on the ``results`` columns)."""
        cols = list(columns)
        sql = f"SELECT {', '.join(cols)} FROM results" + (f" WHERE {where}" if where else "")
        for r in self.db.execute(sql, list(params)):
            row = dict(zip(cols, r, strict=True))
            if "detail" in row:
                row["detail"] = json.loads(row["detail"])
            yield row

    def status_counts(self) -> dict[str, int]:
        """Results by status (every status present, zeros included)."""
        out = dict.fromkeys(STATUSES, 0)
        for status, n in self.db.execute("SELECT status, COUNT(*) FROM results GROUP BY status"):
            out[status] = n
        return out

    def incoherent(self) -> int:
        """How many results have a message log that is not GF(3)-coherent."""
        return self.db.execute("SELECT COUNT(*) FROM results WHERE coherent = 0").fetchone()[0]

    def close(self) -> None:
        """Close the file (the WAL is checkpointed into it) and release the writer's lock."""
        self.db.close()
        os.close(self._lock)  # after SQLite's own descriptors: closing releases the flock only

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def remove_ledger(path: str | Path) -> None:
    """Delete the ledger at ``path`` (with its WAL files) unless another process is writing it."""
    lock = _writer_lock(Path(path))
    try:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    finally:
        os.close(lock)


def _writer_lock(path: Path) -> int:
    # An flock, not SQLite's locks: a second driver is refused at once rather than after a
    # busy timeout, and readers are not affected.
    if path.is_dir():
        raise LedgerError(f"{path}: a directory, not a ledger file; give a file's path for --ledger")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise LedgerError(f"{path}: another process is writing this ledger (a sweep or fuzz run "
                          "still going?); wait for it to finish, or give another --ledger") from None
    return fd


def _check_is_ledger(path: Path) -> None:
    # Read-only, so that a file that is not a ledger is left exactly as it was.
    if not path.is_file() or path.stat().st_size == 0:
        return
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as err:
        raise LedgerError(f"{path}: not a ledger (SQLite cannot read it: {err}); move it away, "
                          "or pass --overwrite to start over, or another --ledger") from None
    finally:
        db.close()
    if not _TABLES <= tables:
        raise LedgerError(f"{path}: an SQLite file, but not a ledger (no {', '.join(sorted(_TABLES - tables))} "
                          "table); give another --ledger")
