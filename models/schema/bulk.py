"""Multi-row INSERTs written as plain SQL: the hot path of storing plays and their summaries.

Peewee's ``insert_many`` turns every value into an expression node before it reaches the
driver, about 10 µs a value: for the hundreds of thousands of rows a history import writes
(plays, then day, month, track and hour summaries) that was most of the import's time.  Here
the statement for a batch is built once as text with the driver's placeholders, and the rows go
in as one flat parameter list, which is what a bulk insert costs on either engine.

Values go to the driver as they are: naive datetimes, dates, ints, strings (foreign keys as
ids), the types every caller here already holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from peewee import Field, chunked

from models.schema.db import db, is_postgresql

BATCH = 500  # rows per statement: well under SQLite's 32,766 parameters for our widest rows


def _quoted(field: Field) -> str:
    return f'"{field.column_name}"'


def insert_rows(
    model,
    columns: Sequence[Field],
    rows: Iterable[Sequence],
    *,
    conflict: str = "",
    batch: int = BATCH,
) -> int:
    """INSERT ``rows`` (tuples in ``columns`` order) into ``model``'s table, ``batch`` at a time.

    ``conflict`` is the SQL after the VALUES list (``ON CONFLICT ... DO ...``).  Returns the
    number of rows the database reports inserted or updated (both drivers count each row an
    upsert changed, and not the ones ``DO NOTHING`` skipped).
    """
    head = f'INSERT INTO "{model._meta.table_name}" ({", ".join(map(_quoted, columns))}) VALUES '
    one = "(" + ", ".join([db.param] * len(columns)) + ")"
    tail = f" {conflict}" if conflict else ""
    statements: dict[int, str] = {}
    changed = 0
    for chunk in chunked(rows, batch):
        size = len(chunk)
        sql = statements.get(size)
        if sql is None:
            sql = statements[size] = head + ", ".join([one] * size) + tail
        changed += db.execute_sql(sql, [value for row in chunk for value in row]).rowcount
    return changed


def adding_upsert(
    model,
    key: Sequence[Field],
    sums: Sequence[Field],
    earliest: Sequence[Field] = (),
    latest: Sequence[Field] = (),
) -> str:
    """The ON CONFLICT clause that adds ``sums`` and keeps the min/max of ``earliest``/``latest``.

    SQLite's two-argument MIN/MAX are PostgreSQL's LEAST/GREATEST.
    """
    table = f'"{model._meta.table_name}"'
    least, greatest = ("LEAST", "GREATEST") if is_postgresql() else ("MIN", "MAX")
    sets = [f"{_quoted(f)} = {table}.{_quoted(f)} + EXCLUDED.{_quoted(f)}" for f in sums]
    sets += [
        f"{_quoted(f)} = {least}({table}.{_quoted(f)}, EXCLUDED.{_quoted(f)})" for f in earliest
    ]
    sets += [
        f"{_quoted(f)} = {greatest}({table}.{_quoted(f)}, EXCLUDED.{_quoted(f)})" for f in latest
    ]
    return f"ON CONFLICT ({', '.join(map(_quoted, key))}) DO UPDATE SET {', '.join(sets)}"
