"""The dashboards' catalogue: the one list of what `make dashboards` serves.

Each dashboard's name is its URL (http://127.0.0.1:8501/<name>), its script (`views/<name>.py`)
and the dbt exposure that documents it (dbt_project/models/exposures/_exposures.yml); its title is
the page's heading; its queries are the files of `queries/` it runs, and the marts it reads are
read from those files' SQL, not written down a second time. The app builds its pages from this
list, the landing page links them, and the tests render them and check the exposures against it
(tests/test_dashboards.py, tests/test_docs_site.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
VIEWS = HERE / "views"
"""One script per dashboard; Streamlit would list a folder named pages/ a second time."""
QUERIES = HERE / "queries"
"""The SQL the dashboards ask of the served warehouse, one file per question."""
_MART = re.compile(r"\bmarts\.([a-z0-9_]+)")


@dataclass(frozen=True)
class Dashboard:
    name: str
    title: str
    summary: str
    """What it shows, in a line of the landing page."""
    queries: tuple[str, ...]

    @property
    def script(self) -> Path:
        return VIEWS / f"{self.name}.py"

    @property
    def marts(self) -> frozenset[str]:
        """The public marts its queries read (schema `marts` of the served warehouse)."""
        return frozenset(m for q in self.queries for m in _MART.findall(query_sql(q)))


def query_sql(name: str) -> str:
    return (QUERIES / f"{name}.sql").read_text(encoding="utf-8")


OVERVIEW = Dashboard(
    name="overview",
    title="Bank warehouse dashboards",
    summary="What each dashboard shows and the dates its figures are taken on.",
    queries=("as_of",),
)
"""The landing page (http://127.0.0.1:8501/): not a dashboard of its own, no exposure."""

DASHBOARDS = {
    d.name: d
    for d in (
        Dashboard(
            "value_pyramid",
            "Value pyramid and Pareto curve",
            "customers by value tier and class, and who makes the contribution.",
            ("value_segments", "pareto_curve"),
        ),
        Dashboard(
            "profitability",
            "Profitability by product, branch and RM",
            "contribution and economic profit by product, branch and relationship manager.",
            ("product_profitability", "branch_profitability", "rm_profitability"),
        ),
        Dashboard(
            "loan_book",
            "Loan book by classification",
            "loans, principal and provisions by classification; the non-performing loans.",
            ("loan_book",),
        ),
        Dashboard(
            "churn_risk",
            "Churn risk",
            "tonight's churn scores by risk band and the customers most likely to leave.",
            ("churn_bands", "churn_watchlist"),
        ),
        Dashboard(
            "rm_leads",
            "RM lead list",
            "the leads of each relationship manager, open ones first.",
            ("leads",),
        ),
    )
}
"""The dashboards, in the order the app lists them."""
