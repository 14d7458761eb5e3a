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


FRESH = "fresh_rows"  # the temporary table :func:`replace_user_rows` fills and drops


def replace_user_rows(
    table: str, keys: Sequence[str], values: Sequence[str], select: str, params: Sequence, user_id
) -> None:
    """Make one user's rows of ``table`` those ``select`` gives, writing only the differences.

    ``select`` yields ``user_id, *keys, *values`` for that user.  Rebuilding summaries in a
    new time zone moves a minority of rows (a month keeps most of its plays; a day's track
    row changes only if one of its plays crosses midnight), so deleting every row and
    inserting them again wrote (and checked the user's foreign key of) several times more rows
    than change.  The new rows go to a temporary table (no WAL on PostgreSQL, no constraints,
    one index for the comparisons); then one DELETE of the rows gone, one UPDATE of the rows
    whose values differ and one INSERT of the new ones.  Values are never NULL here (counts,
    sums, first and last plays), so ``<>`` compares them on both engines.
    """
    columns = ["user_id", *keys, *values]
    listed = ", ".join(columns)
    same_key = " AND ".join(f"f.{c} = t.{c}" for c in ["user_id", *keys])
    db.execute_sql(f"DROP TABLE IF EXISTS {FRESH}")
    db.execute_sql(f"CREATE TEMPORARY TABLE {FRESH} AS SELECT {listed} FROM {table} WHERE 1 = 0")
    db.execute_sql(f"INSERT INTO {FRESH} ({listed}) {select}", list(params))
    db.execute_sql(f"CREATE INDEX {FRESH}_key ON {FRESH} (user_id, {', '.join(keys)})")
    mark = db.param
    db.execute_sql(
        f"DELETE FROM {table} AS t WHERE t.user_id = {mark} "
        f"AND NOT EXISTS (SELECT 1 FROM {FRESH} f WHERE {same_key})"
        if is_postgresql()
        else f"DELETE FROM {table} WHERE user_id = {mark} AND NOT EXISTS "
        f"(SELECT 1 FROM {FRESH} f WHERE "
        + " AND ".join(f"f.{c} = {table}.{c}" for c in ["user_id", *keys])
        + ")",
        [user_id],
    )
    target = table if not is_postgresql() else "t"
    sets = ", ".join(f"{c} = f.{c}" for c in values)
    differs = " OR ".join(f"f.{c} <> {target}.{c}" for c in values)
    matches = " AND ".join(f"f.{c} = {target}.{c}" for c in ["user_id", *keys])
    db.execute_sql(
        f"UPDATE {table}{' AS t' if is_postgresql() else ''} SET {sets} FROM {FRESH} f "
        f"WHERE {matches} AND ({differs})"
    )
    db.execute_sql(
        f"INSERT INTO {table} ({listed}) SELECT {', '.join('f.' + c for c in columns)} "
        f"FROM {FRESH} f WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {same_key}) "
        f"ORDER BY {', '.join('f.' + c for c in ['user_id', *keys])}"
    )
    db.execute_sql(f"DROP TABLE {FRESH}")
