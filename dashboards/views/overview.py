"""The landing page: what each dashboard shows and the dates its figures are taken on."""

import streamlit as st
from catalog import DASHBOARDS, OVERVIEW
from warehouse import login, query

st.title(OVERVIEW.title)
st.caption(
    f"Figures from the served warehouse as the `{login()}` login (docs/serving.md says what it may see). "
    "docs/dashboards.md says how they are built."
)
as_of = query("as_of")
st.dataframe(as_of, hide_index=True)
st.markdown("\n".join(f"- [{d.title}]({d.name}): {d.summary}" for d in DASHBOARDS.values()))
