"""The landing page: what each dashboard shows and the dates its figures are taken on."""

import streamlit as st
from catalog import DASHBOARDS, OVERVIEW
from warehouse import query

st.title(OVERVIEW.title)
st.caption("Figures from the served warehouse (analyst login, PII masked). docs/dashboards.md says how they are built.")
as_of = query("as_of")
st.dataframe(as_of, hide_index=True)
st.markdown("\n".join(f"- [{d.title}]({d.name}): {d.summary}" for d in DASHBOARDS.values()))
