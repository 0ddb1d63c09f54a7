"""A BI tool in a second process: queries the published warehouse read-only in a loop.

Run by tests/test_publish.py as
`python -m tests.warehouse_reader {fresh|held} <warehouse> <out.jsonl> <stop file>`.
`fresh` opens a new read-only connection for every query (a new connection sees the latest
publish); `held` asks one connection opened at the start (it keeps the build it opened).
They are separate processes because DuckDB caches one database instance per path in a
process: a second `connect` to the same path would reuse the held instance and its old file.
Every answer is one statement, so it comes from one snapshot: the build's stamp and the
marts beside it. Errors are written down, not raised: the test asserts there are none.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

QUERY = """
select
    (select run_id from audit.warehouse_build) as run_id,
    (select max(business_date)::varchar from marts.fct_account_balance_daily) as latest_date,
    (select count(*) from marts.fct_transactions) as transactions
"""


def answer(con: duckdb.DuckDBPyConnection) -> list[object]:
    row = con.sql(QUERY).fetchone()
    assert row is not None
    return list(row)


def main(mode: str, warehouse: str, out: str, stop: str) -> None:
    held = duckdb.connect(warehouse, read_only=True) if mode == "held" else None
    with Path(out).open("a", encoding="utf-8") as log:
        while not Path(stop).exists():
            record: dict[str, object] = {"at": time.time()}
            try:
                if held is not None:
                    record[mode] = answer(held)
                else:
                    with duckdb.connect(warehouse, read_only=True) as con:
                        record[mode] = answer(con)
            except Exception as exc:  # noqa: BLE001 (recorded for the test to assert on)
                record["error"] = f"{type(exc).__name__}: {exc}"
            log.write(json.dumps(record) + "\n")
            log.flush()
            time.sleep(0.2)
    if held is not None:
        held.close()


if __name__ == "__main__":
    main(*sys.argv[1:5])
