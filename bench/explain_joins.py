"""Which dbt models does DuckDB join by nested loop or piecewise merge, rather than by hash or IE join?

EXPLAINs every compiled model of a build (`<data_dir>/dbt/target/compiled`) on the published
warehouse it built, and prints the join operators of each model that has a join DuckDB cannot
run as a hash or IE join. A condition such as `d < valid_to or valid_to is null` is one (issue 20).

    .venv/bin/python bench/explain_joins.py data/bench-scale/bank-10000x20
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import duckdb

SLOW = ("NESTED_LOOP_JOIN", "PIECEWISE_MERGE_JOIN", "BLOCKWISE_NL_JOIN", "CROSS_PRODUCT")
JOIN = re.compile(r"\b([A-Z_]*(?:JOIN|CROSS_PRODUCT))\b")


def main() -> None:
    data_dir = Path(sys.argv[1])
    compiled = data_dir / "dbt" / "target" / "compiled"
    warehouse = data_dir / "warehouse" / "bank.duckdb"
    con = duckdb.connect(str(warehouse), read_only=True)
    for path in sorted(compiled.rglob("*.sql")):
        if "/models/" not in path.as_posix():
            continue
        sql = path.read_text(encoding="utf-8")
        try:
            plan = "\n".join(row[1] for row in con.sql(f"explain {sql}").fetchall())
        except duckdb.Error as exc:
            print(f"{path.stem}: not explained ({str(exc).splitlines()[0][:80]})")
            continue
        joins = JOIN.findall(plan)
        if any(j in SLOW for j in joins):
            print(f"{path.stem}: {', '.join(sorted(set(joins)))}")


if __name__ == "__main__":
    main()
