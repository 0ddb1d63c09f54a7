"""The bank warehouse's dashboards (Streamlit): `make dashboards` (docs/dashboards.md).

Each page is a dashboard, named as the dbt exposure that documents it; its URL is its name
(http://127.0.0.1:8501/value_pyramid, ...).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

# One script per dashboard, in views/: Streamlit would list a folder named pages/ a second time.
PAGES = Path(__file__).parent / "views"
DASHBOARDS = {
    "value_pyramid": "Value pyramid and Pareto curve",
    "profitability": "Profitability by product, branch and RM",
    "loan_book": "Loan book by classification",
    "churn_risk": "Churn risk",
    "rm_leads": "RM lead list",
}

st.set_page_config(page_title="Bank warehouse", layout="wide")
overview = st.Page(PAGES / "overview.py", title="Overview", default=True)
pages = [overview, *(st.Page(PAGES / f"{name}.py", title=title, url_path=name) for name, title in DASHBOARDS.items())]
st.navigation(pages).run()
