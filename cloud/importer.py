"""CSV order import: marketplace exports streamed in constant memory.

The file is read as a byte stream. Its first 64 KiB pick the encoding: a UTF-8 BOM or
valid UTF-8 means UTF-8, otherwise GB18030 (a superset of GBK and GB2312, what Chinese
spreadsheet tools export); bytes that are neither make the file unreadable (400). Rows
sharing an ``external_id`` and standing next to each other form one order. Complete
orders collect into batches of ``[intake] batch_rows`` rows; each batch is one
transaction that creates its orders (:func:`cloud.intake.create_orders`), records its
rejected rows and moves the import's progress on, so another client watching
``GET /api/v1/orders/imports/{id}`` sees it grow and a crash loses at most one batch.

Row numbers are as a spreadsheet shows them: the header is row 1. A row with an error
rejects its whole order (every row of it is reported), never part of an order.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import Connection, Engine, exc, select, update

from cloud import intake
from cloud.config import HubConfig
from cloud.db import read_only, retrying, transaction
from cloud.errors import InvalidInput, NotFound
from cloud.schema_intake import import_errors, imports
from edge.protocol import printable, utc_now

log = logging.getLogger(__name__)

FIELDS = ("channel", "external_id", "customer_name", "phone", "address", "sku", "qty")
OPTIONAL = ("payment_status", "service_level")
SNIFF_BYTES = 64 * 1024
MAX_CELLS = 100
MAX_CELL = 2000
LISTED = 1000  # orders and errors listed in an answer; the rest are counted (and in errors.csv)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ImportFailed(InvalidInput):
    """The file cannot be imported at all: unreadable bytes, no usable header."""


@dataclass
class Progress:
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    bytes_read: int = 0


@dataclass
class Result:
    id: str
    encoding: str
    progress: Progress
    orders: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def answer(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": "done",
            "encoding": self.encoding,
            "rows": self.progress.rows,
            "accepted": self.progress.accepted,
            "rejected": self.progress.rejected,
            "orders": self.orders,
            "errors": self.errors,
            "listed_at_most": LISTED,
        }


@dataclass
class _Group:
    """The rows of one order, with its draft or the problem that rejects it."""

    rows: list[tuple[int, list[str]]]
    external_id: str | None
    draft: dict[str, Any] | None = None
    problem: str | None = None


class _Counting(io.RawIOBase):
    """The sniffed head followed by the rest of the source, counting bytes read."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self.head, self.rest, self.count = head, rest, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        if self.head:
            n = min(len(view), len(self.head))
            view[:n] = self.head[:n]
            self.head = self.head[n:]
        else:
            data = self.rest.read(len(view))
            n = len(data)
            view[:n] = data
        self.count += n
        return n


def detect_encoding(head: bytes) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` or ``gb18030``; ImportFailed when neither reads."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            # final=False: a character cut by the end of the sample is not an error
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ImportFailed("the file is neither UTF-8 nor GB18030 text")


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _columns(header: list[str], mapping: dict[str, str], channel: str | None) -> dict[str, int]:
    names = [h.strip().lstrip("\ufeff") for h in header]
    columns: dict[str, int] = {}
    for name in (*FIELDS, *OPTIONAL):
        wanted = mapping.get(name, name)
        if wanted in names:
            columns[name] = names.index(wanted)
    missing = [
        mapping.get(n, n) for n in FIELDS if n not in columns and not (n == "channel" and channel)
    ]
    if missing:
        raise ImportFailed(
            f"the header has no column {', '.join(printable(m) for m in missing)}; "
            f"expected {','.join(FIELDS)} or a configured mapping"
        )
    return columns


def _rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """(row number, cells or None, problem) for every data row; malformed rows are
    reported, blank lines skipped."""
    number = 1
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield number, None, f"malformed CSV: {err}"
            continue
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) > MAX_CELLS or any(len(c) > MAX_CELL for c in cells):
            yield number, cells[:MAX_CELLS], f"row too long (at most {MAX_CELL} per cell)"
        elif any("\ufffd" in c for c in cells):
            yield number, cells, "row has bytes that are not text in the file's encoding"
        else:
            yield number, cells, None


def _order_body(
    rows: list[tuple[int, list[str]]], columns: dict[str, int], channel: str | None
) -> dict[str, Any]:
    def cell(cells: list[str], name: str) -> str | None:
        i = columns.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else None

    first = rows[0][1]
    lines = []
    for number, cells in rows:
        for name in ("customer_name", "phone", "address"):
            if cell(cells, name) != cell(first, name):
                raise InvalidInput(f"row {number}: {name} differs from the order's first row")
        raw_qty = cell(cells, "qty") or ""
        try:
            qty: Any = int(raw_qty)
        except ValueError:
            raise InvalidInput(
                f"row {number}: qty {printable(raw_qty)} is not a whole number"
            ) from None
        lines.append(intake.check_line({"sku": cell(cells, "sku"), "qty": qty}, f"row {number}"))
    body: dict[str, Any] = {
        "channel": cell(first, "channel") or channel,
        "external_id": cell(first, "external_id"),
        "customer": {"name": cell(first, "customer_name"), "phone": cell(first, "phone")},
        "address": cell(first, "address"),
        "lines": lines,
    }
    for name in OPTIONAL:
        if value := cell(first, name):
            body[name] = value
    return body


def start(
    engine: Engine, tenant: str, filename: str, channel: str | None, mapping: str | None
) -> str:
    """Record a new import (status ``running``); returns its id."""
    import_id = uuid.uuid4().hex
    now = utc_now()
    with transaction(engine) as conn:
        conn.execute(
            imports.insert().values(
                id=import_id,
                tenant=tenant,
                channel=channel,
                mapping=mapping,
                filename=filename[:200],
                status="running",
                started_at=now,
                updated_at=now,
            )
        )
    return import_id


def run(
    engine: Engine,
    config: HubConfig,
    tenant: str,
    source: IO[bytes],
    *,
    import_id: str | None = None,
    filename: str = "",
    channel: str | None = None,
    mapping: str | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Result:
    """Import a CSV byte stream; returns counts, the first accepted orders and rejected
    rows. ImportFailed (nothing imported) when the file or its header is unusable."""
    if channel is not None and channel not in config.intake.channels:
        raise InvalidInput(f"unknown channel {printable(channel)}")
    if mapping is not None and mapping not in config.intake.mappings:
        raise InvalidInput(f"no CSV mapping named {printable(mapping)} in [intake] mappings")
    head = source.read(SNIFF_BYTES)
    encoding = detect_encoding(head)
    raw = _Counting(head, source)
    text = io.TextIOWrapper(io.BufferedReader(raw), encoding=encoding, errors="replace", newline="")
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as err:
        raise ImportFailed("the file has no CSV header row") from err
    columns = _columns(header, config.intake.mappings.get(mapping or "", {}), channel)
    import_id = import_id or start(engine, tenant, filename, channel, mapping)
    with transaction(engine) as conn:
        conn.execute(update(imports).where(imports.c.id == import_id).values(encoding=encoding))
    result = Result(import_id, encoding, Progress())
    batch: list[_Group] = []
    batch_rows = 0
    group: list[tuple[int, list[str]]] = []
    group_problem: str | None = None

    def close_group() -> None:
        nonlocal group, group_problem, batch_rows
        if not group:
            return
        made = _Group(group, key_of(group[0][1]))
        made.problem = group_problem
        if made.problem is None:
            try:
                made.draft = intake.validate(_order_body(group, columns, channel), config.intake)
            except InvalidInput as err:
                made.problem = str(err)
        batch.append(made)
        batch_rows += len(group)
        group, group_problem = [], None

    batches = 0

    def flush() -> None:
        nonlocal batch, batch_rows, batches
        if batch:
            _commit(engine, config, tenant, import_id, batch, result, raw.count)
            batches += 1
            if batches & (batches - 1) == 0:  # after batch 1, 2, 4, 8, …
                _analyze(engine)
            if progress:
                progress(result.progress)
        batch, batch_rows = [], 0

    ext = columns["external_id"]

    def key_of(cells: list[str] | None) -> str | None:
        """The row's external id; None when the row is too short to have one."""
        return cells[ext].strip() if cells is not None and ext < len(cells) else None

    try:
        for number, cells, problem in _rows(reader):
            key = key_of(cells)
            current = key_of(group[0][1]) if group else None
            if group and (cells is None or key != current):
                close_group()
                if batch_rows >= config.intake.batch_rows:
                    flush()
            group.append((number, cells or []))
            if problem and group_problem is None:
                group_problem = f"row {number}: {problem}"
            if cells is None:
                close_group()
        close_group()
        flush()
    except Exception as err:
        _finish(engine, import_id, "failed", result.progress, str(err)[:500])
        raise
    _finish(engine, import_id, "done", result.progress, None)
    log.info(
        "import %s: %d rows, %d orders accepted, %d rows rejected",
        import_id,
        result.progress.rows,
        result.progress.accepted,
        result.progress.rejected,
    )
    return result


def _commit(
    engine: Engine,
    config: HubConfig,
    tenant: str,
    import_id: str,
    batch: list[_Group],
    result: Result,
    bytes_read: int,
) -> None:
    good = [g for g in batch if g.draft is not None]
    rows_in_batch = sum(len(g.rows) for g in batch)

    def work(conn: Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        drafts = [g.draft for g in good if g.draft is not None]
        # Imported orders stay ``checked``: the allocation sweep places them in the
        # background, urgent first across the whole import, so a large file neither waits
        # for nor holds locks during allocation.
        made = intake.create_orders(conn, config, tenant, drafts, utc_now(), allocate=False)
        errors = []
        for g in batch:
            if g.problem is not None:
                errors += _row_errors(import_id, g, "invalid", g.problem)
        for g, outcome in zip(good, made, strict=True):
            if "error" in outcome:
                errors += _row_errors(import_id, g, "duplicate", outcome["error"]["message"])
        if errors:
            conn.execute(import_errors.insert(), errors)
        accepted = [m for m in made if "error" not in m]
        p = result.progress
        conn.execute(
            update(imports)
            .where(imports.c.id == import_id)
            .values(
                rows_done=p.rows + rows_in_batch,
                accepted=p.accepted + len(accepted),
                rejected=p.rejected + len(errors),
                updated_at=utc_now(),
            )
        )
        return accepted, errors

    # A concurrent import of the same marketplace orders loses the race on the channel
    # key; the retry sees the winner's orders and reports them as duplicates.
    accepted, errors = retrying(engine, work, retry_on=(exc.IntegrityError,))
    p = result.progress
    p.rows += rows_in_batch
    p.accepted += len(accepted)
    p.rejected += len(errors)
    p.bytes_read = bytes_read
    room = LISTED - len(result.orders)
    result.orders += [
        {k: m[k] for k in ("external_id", "id", "number", "status", "reasons")}
        for m in accepted[: max(room, 0)]
    ]
    room = LISTED - len(result.errors)
    result.errors += [
        {k: e[k] for k in ("row", "external_id", "reason", "message")}
        for e in errors[: max(room, 0)]
    ]


def _analyze(engine: Engine) -> None:
    """Refresh PostgreSQL's statistics of the tables an import fills. Autovacuum would get
    there only after the import; until then the planner takes the duplicate-check table for
    empty and scans it whole for every batch, which makes a large import quadratic."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE order_fingerprints, channel_orders, orders")
        conn.commit()


def _row_errors(import_id: str, group: _Group, reason: str, message: str) -> list[dict[str, Any]]:
    return [
        {
            "import_id": import_id,
            "row": number,
            "external_id": group.external_id,
            "reason": reason,
            "message": message,
            "cells": cells,
        }
        for number, cells in group.rows
    ]


def _finish(engine: Engine, import_id: str, status: str, p: Progress, error: str | None) -> None:
    now = utc_now()
    with transaction(engine) as conn:
        conn.execute(
            update(imports)
            .where(imports.c.id == import_id)
            .values(status=status, error=error, updated_at=now, finished_at=now)
        )


def get_import(engine: Engine, import_id: str) -> dict[str, Any]:
    """An import's status and counts (``running`` while it goes)."""
    with read_only(engine) as conn:
        row = conn.execute(select(imports).where(imports.c.id == import_id)).mappings().first()
    if row is None:
        raise NotFound(f"no import with id {import_id}")
    return dict(row)


def list_imports(engine: Engine, tenant: str | None, limit: int = 50) -> list[dict[str, Any]]:
    query = select(imports).order_by(imports.c.started_at.desc()).limit(limit)
    if tenant is not None:
        query = query.where(imports.c.tenant == tenant)
    with read_only(engine) as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def errors_csv(engine: Engine, import_id: str) -> Iterator[str]:
    """The rejected rows as CSV text (row, reason, message, then the row's own cells),
    every cell made safe for spreadsheets (:func:`safe_cell`)."""
    get_import(engine, import_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "reason", "message", "cells…"])
    yield out.getvalue()
    last = 0
    while True:
        with read_only(engine) as conn:
            rows = (
                conn.execute(
                    select(import_errors)
                    .where(import_errors.c.import_id == import_id, import_errors.c.id > last)
                    .order_by(import_errors.c.id)
                    .limit(1000)
                )
                .mappings()
                .all()
            )
        if not rows:
            return
        out.seek(0)
        out.truncate()
        for r in rows:
            writer.writerow(
                [safe_cell(v) for v in (r["row"], r["reason"], r["message"], *r["cells"])]
            )
        last = rows[-1]["id"]
        yield out.getvalue()
