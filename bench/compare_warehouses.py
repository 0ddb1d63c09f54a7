"""Compare the public tables of two warehouses built from the same lake, row for row.

    python bench/compare_warehouses.py BASELINE.duckdb CANDIDATE.duckdb [--schema marts ...]

For every table of the compared schemas (default: `marts` and `audit`) it prints the rows in
each warehouse, the rows of each that the other lacks (`except all`, so duplicates count),
and the columns whose presence or type differs. Rows are compared on the columns both sides
have, in the baseline's order. Exits 1 on any difference (a table missing on one side
included), 0 when every table is identical: the proof that a refactoring changed no figure.
Both files are opened read-only.

Two pipeline runs on copies of the same landing area give their loads different ids, so the
lineage columns that carry them (`load_id`) differ by design: `--ignore-column load_id` leaves
them out of the row comparison (their presence and type are still compared).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

DEFAULT_SCHEMAS = ("marts", "audit")


@dataclass
class TableComparison:
    schema: str
    table: str
    rows_baseline: int | None = None
    rows_candidate: int | None = None
    only_in_baseline: int = 0
    only_in_candidate: int = 0
    column_differences: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def is_equal(self) -> bool:
        return (
            self.rows_baseline is not None
            and self.rows_candidate is not None
            and self.only_in_baseline == 0
            and self.only_in_candidate == 0
            and not self.column_differences
        )


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def columns_of(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> dict[str, list[tuple[str, str]]]:
    """Table name -> [(column, data type)] in column order, for the tables of one schema."""
    rows = con.execute(
        """
        select table_name, column_name, data_type
        from information_schema.columns
        where table_catalog = ? and table_schema = ?
        order by table_name, ordinal_position
        """,
        [catalog, schema],
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        tables.setdefault(str(table), []).append((str(column), str(data_type)))
    return tables


def count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def compare_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    baseline_columns: list[tuple[str, str]],
    candidate_columns: list[tuple[str, str]],
    ignored: frozenset[str] = frozenset(),
) -> TableComparison:
    result = TableComparison(schema, table)
    baseline_types = dict(baseline_columns)
    candidate_types = dict(candidate_columns)
    for column, data_type in baseline_columns:
        if column not in candidate_types:
            result.column_differences.append(f"{column} ({data_type}) only in baseline")
        elif candidate_types[column] != data_type:
            result.column_differences.append(f"{column}: {data_type} -> {candidate_types[column]}")
    for column, data_type in candidate_columns:
        if column not in baseline_types:
            result.column_differences.append(f"{column} ({data_type}) only in candidate")
    if [c for c, _ in baseline_columns if c in candidate_types] != [
        c for c, _ in candidate_columns if c in baseline_types
    ]:
        result.column_differences.append("column order differs")

    baseline_relation = f"baseline.{quote(schema)}.{quote(table)}"
    candidate_relation = f"candidate.{quote(schema)}.{quote(table)}"
    result.rows_baseline = count(con, f"select count(*) from {baseline_relation}")
    result.rows_candidate = count(con, f"select count(*) from {candidate_relation}")
    common = ", ".join(quote(c) for c, _ in baseline_columns if c in candidate_types and c not in ignored)
    if common:
        baseline_rows = f"select {common} from {baseline_relation}"
        candidate_rows = f"select {common} from {candidate_relation}"
        result.only_in_baseline = count(con, f"select count(*) from ({baseline_rows} except all {candidate_rows})")
        result.only_in_candidate = count(con, f"select count(*) from ({candidate_rows} except all {baseline_rows})")
    return result


def compare(
    baseline: Path, candidate: Path, schemas: list[str], ignored: frozenset[str] = frozenset()
) -> list[TableComparison]:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{baseline}' as baseline (read_only)")
        con.execute(f"attach '{candidate}' as candidate (read_only)")
        results: list[TableComparison] = []
        for schema in schemas:
            baseline_tables = columns_of(con, "baseline", schema)
            candidate_tables = columns_of(con, "candidate", schema)
            for table in sorted(baseline_tables.keys() | candidate_tables.keys()):
                if table not in candidate_tables:
                    results.append(TableComparison(schema, table, column_differences=["table only in baseline"]))
                elif table not in baseline_tables:
                    results.append(TableComparison(schema, table, column_differences=["table only in candidate"]))
                else:
                    results.append(
                        compare_table(con, schema, table, baseline_tables[table], candidate_tables[table], ignored)
                    )
        return results
    finally:
        con.close()


def report(results: list[TableComparison]) -> str:
    lines = [f"{'table':<55} {'rows base':>10} {'rows cand':>10} {'-base':>7} {'+cand':>7}  verdict"]
    for result in results:
        verdict = "equal" if result.is_equal else "DIFFERENT"
        lines.append(
            f"{result.name:<55} {result.rows_baseline if result.rows_baseline is not None else '-':>10} "
            f"{result.rows_candidate if result.rows_candidate is not None else '-':>10} "
            f"{result.only_in_baseline:>7} {result.only_in_candidate:>7}  {verdict}"
        )
        lines.extend(f"    {difference}" for difference in result.column_differences)
    n_different = sum(not result.is_equal for result in results)
    lines.append(f"{len(results)} tables compared, {n_different} different")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", type=Path, help="the warehouse built before the change")
    parser.add_argument("candidate", type=Path, help="the warehouse built after it, from the same lake")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="SCHEMA.TABLE",
        help="a table not to compare, e.g. audit.warehouse_build, which the pipeline writes and dbt does not",
    )
    parser.add_argument(
        "--schema",
        action="append",
        dest="schemas",
        help=f"a schema to compare (repeatable; default: {', '.join(DEFAULT_SCHEMAS)})",
    )
    parser.add_argument(
        "--ignore-column",
        action="append",
        default=[],
        metavar="COLUMN",
        help="a column left out of the row comparison in every table (repeatable), e.g. load_id",
    )
    args = parser.parse_args(argv)
    for path in (args.baseline, args.candidate):
        if not path.is_file():
            parser.error(f"{path} is not a file")
    results = [
        result
        for result in compare(
            args.baseline, args.candidate, args.schemas or list(DEFAULT_SCHEMAS), frozenset(args.ignore_column)
        )
        if result.name not in args.exclude
    ]
    print(report(results))
    return 0 if results and all(result.is_equal for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
