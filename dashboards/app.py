"""The bank warehouse's dashboards (Streamlit): `make dashboards` (docs/dashboards.md).

Each page is a dashboard of the catalogue (catalog.py), named as the dbt exposure that documents
it; its URL is its name (http://127.0.0.1:8501/value_pyramid, ...).
"""

from __future__ import annotations

import streamlit as st
from catalog import DASHBOARDS, OVERVIEW

st.set_page_config(page_title="Bank warehouse", layout="wide")
overview = st.Page(OVERVIEW.script, title="Overview", default=True)
pages = [overview, *(st.Page(d.script, title=d.title, url_path=d.name) for d in DASHBOARDS.values())]
st.navigation(pages).run()
