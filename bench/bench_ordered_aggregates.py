"""Ordered aggregates on DuckDB: the project's macros against DuckDB's ordered forms (issue 20).

The incremental models digest, per customer or account, what its rows were built from
(`ordered_string_agg` under an md5, `ordered_list_digest`: macros/engines_aggregates.sql), over
every customer or account each night. DuckDB's own forms, `string_agg(x, '|' order by k)` and
`hash(list(x order by k))`, sort every group apart; the macros collect each group's rows in a
list and sort the list. This bench renders the macros with dbt (`dbt compile --inline`, as a
model would) and times them on a synthetic table of `--groups` groups of three rows each (the
shape of account holders: an account, its holders and their weights), beside DuckDB's ordered
forms (the reference, measured in the same run), and checks that each pair gives the same
result. DuckDB as the pipeline runs it: `--threads` threads and a `--memory-limit`.

    .venv/bin/python bench/bench_ordered_aggregates.py                     # a million groups
    .venv/bin/python bench/bench_ordered_aggregates.py --groups 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from unittest.mock import patch

import duckdb

from bankdw.config import PROJECT_ROOT

INLINE = """
select
    {{ ordered_string_agg("concat_ws(':', customer_key, weight)", "'|'", 'customer_key') }} as keyed_string,
    {{ ordered_string_agg('customer_key', "'|'", 'customer_key') }} as value_string,
    {{ ordered_list_digest(['customer_key', 'weight', 'closed']) }}
        as rows_digest
from holders
group by account_id
"""
REFERENCES = {
    "keyed_string": "string_agg(concat_ws(':', customer_key, weight), '|' order by customer_key)",
    "value_string": "string_agg(customer_key, '|' order by customer_key)",
    "rows_digest": "hash(list(struct_pack(customer_key, weight, closed) order by customer_key, weight, closed))",
}


def compile_inline(sql: str, work: Path) -> str:
    """`sql` as dbt compiles it in the project (its macros rendered as a model's are, on DuckDB),
    in this process; dbt's target, logs and the DuckDB file it opens to compile go to `work`."""
    from dbt.cli.main import dbtRunner

    project = str(PROJECT_ROOT / "dbt_project")
    paths = ["--project-dir", project, "--profiles-dir", project, "--target-path", str(work / "target")]
    with patch.dict(os.environ, {"BANKDW_DBT_PATH": str(work / "compile.duckdb")}):
        outcome = dbtRunner().invoke(
            ["compile", "--log-level", "none", "--inline", sql, *paths, "--log-path", str(work)]
        )
    if not outcome.success:
        raise RuntimeError(f"dbt compile failed: {outcome.exception}")
    return str(outcome.result.results[0].node.compiled_code)


def compiled_macros(work: Path) -> dict[str, str]:
    """Each aggregate's expression as the macros render it on DuckDB."""
    select = compile_inline(INLINE, work).split("select", 1)[1].split("from holders")[0]
    expressions = {}
    for name in REFERENCES:
        body, select = select.split(f" as {name}", 1)
        expressions[name] = body.strip().rstrip(",").strip()
        select = select.lstrip(",")
    return expressions


def timed(con: duckdb.DuckDBPyConnection, expression: str) -> tuple[float, tuple[int, int]]:
    t0 = time.perf_counter()
    row = con.sql(
        f"select count(*), sum(hash(value)) from (select {expression} as value from holders group by account_id)"
    )
    result = row.fetchone()
    assert result is not None
    return time.perf_counter() - t0, (int(result[0]), int(result[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="passes of each form, alternated; the median is printed")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="3GB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        macros = compiled_macros(Path(work))
    con = duckdb.connect(config={"threads": args.threads, "memory_limit": args.memory_limit})
    # three holders an account, in no order; a weight of four decimals; a date, null for one row in four
    con.execute(
        "create table holders as select 'AC' || (1000000000 + i // 3) as account_id, "
        "'CK' || ((i * 7919) % 1000003) as customer_key, cast(round(random(), 4) as decimal(9, 4)) as weight, "
        "case when i % 4 = 0 then null else date '2024-01-01' + cast(i % 97 as integer) end as closed "
        f"from range({3 * args.groups}) as rows_of(i)"
    )
    print(
        f"{args.groups:,} groups of 3 rows, {args.threads} threads, memory limit {args.memory_limit}; "
        f"median of {args.repeat}"
    )
    print(f"  {'aggregate':<14} {'DuckDB ordered s':>17} {'macro s':>9} {'ratio':>7}  same result")
    for name, reference in REFERENCES.items():
        seconds: dict[str, list[float]] = {"reference": [], "macro": []}
        results = set()
        for _ in range(args.repeat):
            for form, expression in (("reference", reference), ("macro", macros[name])):
                took, result = timed(con, expression)
                seconds[form].append(took)
                results.add(result)
        before, after = statistics.median(seconds["reference"]), statistics.median(seconds["macro"])
        print(f"  {name:<14} {before:17.2f} {after:9.2f} {after / before:7.2f}  {'yes' if len(results) == 1 else 'NO'}")


if __name__ == "__main__":
    main()
