"""Who creates the bank's profit and who destroys it: the Pareto (whale) curve of customer
economic profit and the value-destroying customers, read from the published warehouse.

The marts do the accounting (dbt_project/models/marts/profitability); this module only ranks
customers and accumulates, so that the notebook (notebooks/profitability_pareto.ipynb) and
`python -m models.profitability` show the same figures. Money stays Decimal throughout.

Run it:  .venv/bin/python -m models.profitability data/warehouse/bank.duckdb
(the published warehouse: `bankdw config` prints where it is)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

# Customers' economic profit over the complete months of the data (a partial first or
# current month would rank customers by when they joined rather than by what they are worth).
CUSTOMER_PROFIT_SQL = """
    select
        profitability.customer_key,
        any_value(profitability.segment) as segment,
        count(*) as n_months,
        sum(profitability.net_interest_income) as net_interest_income,
        sum(profitability.fee_income) as fee_income,
        sum(profitability.other_income) as other_income,
        sum(profitability.operating_cost) as operating_cost,
        sum(profitability.credit_cost) as credit_cost,
        sum(profitability.contribution) as contribution,
        sum(profitability.capital_charge) as capital_charge,
        sum(profitability.economic_profit) as economic_profit
    from marts.fct_customer_profitability_monthly as profitability
    where profitability.is_complete_month
    group by profitability.customer_key
"""


@dataclass(frozen=True)
class ParetoSummary:
    n_customers: int
    total_economic_profit: Decimal
    top_20pct_share: Decimal
    """Economic profit of the best 20% of customers as a share of the total (above 1 when the
    rest destroy value on balance: the whale curve)."""
    n_value_destroying: int
    value_destroyed: Decimal
    """Sum of the negative economic profits (a negative amount)."""


def customer_profit(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per customer over the complete months: the components and economic profit,
    ranked best first, with the cumulative share of customers and of economic profit."""
    # through Arrow, so that DECIMAL columns arrive as Decimal (DuckDB's .df() makes them float)
    frame = con.sql(CUSTOMER_PROFIT_SQL).to_arrow_table().to_pandas()
    frame = frame.sort_values(["economic_profit", "customer_key"], ascending=[False, True], ignore_index=True)
    total = sum(frame["economic_profit"], Decimal(0))
    n = len(frame)
    frame["rank"] = range(1, n + 1)
    frame["customer_share"] = [Decimal(r) / n for r in frame["rank"]] if n else []
    running = Decimal(0)
    cumulative = []
    for value in frame["economic_profit"]:
        running += value
        cumulative.append(running)
    frame["cumulative_economic_profit"] = cumulative
    frame["cumulative_profit_share"] = [c / total if total else None for c in cumulative]
    return frame


def summarise(frame: pd.DataFrame) -> ParetoSummary:
    """The headline figures of the curve from customer_profit()."""
    n = len(frame)
    total = sum(frame["economic_profit"], Decimal(0))
    top = sum(frame["economic_profit"].head(max(1, round(n * 0.2)) if n else 0), Decimal(0))
    negative = [v for v in frame["economic_profit"] if v < 0]
    return ParetoSummary(
        n_customers=n,
        total_economic_profit=total,
        top_20pct_share=(top / total).quantize(Decimal("0.0001")) if total else Decimal(0),
        n_value_destroying=len(negative),
        value_destroyed=sum(negative, Decimal(0)),
    )


def value_destroyers(frame: pd.DataFrame, limit: int = 10) -> pd.DataFrame:
    """The customers with the most negative economic profit, worst first, with what drives it."""
    columns = ["customer_key", "segment", "net_interest_income", "fee_income", "operating_cost", "credit_cost"]
    worst = frame[frame["economic_profit"] < 0].sort_values("economic_profit").head(limit)
    return worst[[*columns, "capital_charge", "economic_profit"]].reset_index(drop=True)


def format_report(frame: pd.DataFrame, limit: int = 10) -> str:
    summary = summarise(frame)
    lines = [
        f"customers ranked: {summary.n_customers:,} (complete months only)",
        f"economic profit:  {summary.total_economic_profit:,.2f}",
        f"top 20% share:    {summary.top_20pct_share:.1%} of economic profit",
        f"value destroying: {summary.n_value_destroying:,} customers, {summary.value_destroyed:,.2f}",
        "",
        "worst customers:",
        value_destroyers(frame, limit).to_string(index=False),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m models.profitability path/to/bank.duckdb\n")
        return 2
    path = Path(argv[0])
    if not path.exists():
        sys.stderr.write(f"no warehouse at {path}: run `make run` first\n")
        return 2
    with duckdb.connect(str(path), read_only=True) as con:
        sys.stdout.write(format_report(customer_profit(con)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
