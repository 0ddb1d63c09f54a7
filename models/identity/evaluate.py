"""Precision and recall of identity resolution against the simulator's answer key.

Pairwise, as record-linkage work measures it: a pair of source records is *predicted* when
both carry the same customer_key and *true* when the answer key (`_truth/persons.csv`) gives
both the same person. precision = true predicted pairs / predicted pairs, recall = true
predicted pairs / true pairs. Records without a customer_key (AMBIGUOUS, UNRESOLVED) are
singletons: they predict no pair. Counted in SQL from the sizes of the cells
(customer x person), so a million records take seconds, not a pairwise join.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from extract.sql import path_pattern


@dataclass(frozen=True)
class MergeQuality:
    precision: float
    recall: float
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int
    records: int
    unresolved: dict[str, int]
    """Records without a customer_key per source table (AMBIGUOUS + UNRESOLVED)."""
    ambiguous: dict[str, int]

    def lines(self) -> list[str]:
        return [
            f"precision {self.precision:.4f} ({self.correct_pairs:,} of {self.predicted_pairs:,} merged pairs right)",
            f"recall    {self.recall:.4f} ({self.correct_pairs:,} of {self.true_pairs:,} same-person pairs found)",
            "unresolved "
            + ", ".join(
                f"{t} {n:,} (ambiguous {self.ambiguous.get(t, 0):,})" for t, n in sorted(self.unresolved.items())
            ),
        ]


def merge_quality(xref: pa.Table, persons_csv: Path, source_tables: tuple[str, ...] | None = None) -> MergeQuality:
    """Measure `xref` (customer_xref's columns) against the answer key at `persons_csv`.

    `source_tables` restricts both to some source tables (`("customers",)`: core records only).
    """
    con = duckdb.connect()
    try:
        con.register("xref", xref)
        con.execute("create table truth as select * from read_csv(?, all_varchar = true)", [path_pattern(persons_csv)])
        where = ""
        if source_tables:
            where = "where x.source_table in (" + ", ".join(f"'{t}'" for t in source_tables) + ")"
        con.execute(
            f"""
            create table joined as
            select x.source_table, x.match_rule, t.person_id,
                   coalesce(x.customer_key, 'record:' || x.source_table || '/' || x.source_key) as cluster
            from xref x
            join truth t using (source_system, source_table, source_key)
            {where}
            """
        )
        missing = con.sql(
            f"select count(*) from xref x anti join truth t using (source_system, source_table, source_key) {where}"
        ).fetchone()[0]  # type: ignore[index]
        if missing:
            raise ValueError(f"{missing} records of the xref are not in the answer key {persons_csv}")

        def pairs(by: str) -> int:
            sql = f"select coalesce(sum(n * (n - 1) / 2), 0) from (select count(*) as n from joined group by {by})"
            return int(con.sql(sql).fetchone()[0])  # type: ignore[index]

        predicted, true, correct = pairs("cluster"), pairs("person_id"), pairs("cluster, person_id")
        records = int(con.sql("select count(*) from joined").fetchone()[0])  # type: ignore[index]
        unresolved = dict(
            con.sql(
                """select source_table, count(*) filter (where match_rule in ('AMBIGUOUS', 'UNRESOLVED'))
                   from joined group by 1"""
            ).fetchall()
        )
        ambiguous = dict(
            con.sql(
                "select source_table, count(*) filter (where match_rule = 'AMBIGUOUS') from joined group by 1"
            ).fetchall()
        )
    finally:
        con.close()
    return MergeQuality(
        precision=correct / predicted if predicted else 1.0,
        recall=correct / true if true else 1.0,
        predicted_pairs=predicted,
        true_pairs=true,
        correct_pairs=correct,
        records=records,
        unresolved=unresolved,
        ambiguous=ambiguous,
    )


def with_evidence(xref: pa.Table, defects_csv: Path) -> pa.Table:
    """`xref` without the calls that carry no usable identifying evidence by construction.

    Those are the calls the answer key logs as `unknown_caller` (a number no customer holds)
    or `ambiguous_caller` (a number a household shares) that the IVR did not authenticate:
    the rules must leave them unresolved, so recall "on the evidence" leaves them out. The
    benchmark and the test print recall both with and without them.
    """
    con = duckdb.connect()
    try:
        con.register("xref", xref)
        return con.sql(
            """
            select x.* from xref x
            where not exists (
                select 1 from read_csv(?, all_varchar = true) d
                where d.kind in ('unknown_caller', 'ambiguous_caller') and d.file = 'calls.csv'
                  and d.key = x.source_key and x.source_table = 'calls' and x.linked_customer_id is null
            )
            """,
            params=[path_pattern(defects_csv)],
        ).to_arrow_table()
    finally:
        con.close()
