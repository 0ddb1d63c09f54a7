"""The RM lead list (fct_leads): each relationship manager's leads, open ones first."""

import altair as alt
import streamlit as st
from catalog import DASHBOARDS
from warehouse import count, query

leads = query("leads")
st.title(DASHBOARDS["rm_leads"].title)
open_leads = leads[leads["status"] == "OPEN"]
left, middle, right = st.columns(3)
left.metric("Leads", count(len(leads)))
middle.metric("Open leads", count(len(open_leads)))
right.metric("Open leads in branch queues", count((open_leads["rm_id"] == "(branch queue)").sum()))
if leads.empty:
    st.info("No leads yet.")
    st.stop()
rm = st.selectbox("Relationship manager", ["all", *sorted(leads["rm_id"].unique())])
shown = leads if rm == "all" else leads[leads["rm_id"] == rm]
by_status = shown.groupby("status", as_index=False).size()
st.altair_chart(alt.Chart(by_status).mark_bar().encode(x="status:N", y=alt.Y("size:Q", title="leads")),
                width="stretch")  # fmt: skip
st.dataframe(
    shown.assign(is_open=shown["status"] == "OPEN")
    .sort_values(["is_open", "priority", "due_date"], ascending=[False, False, True])
    .drop(columns="is_open"),
    hide_index=True,
)
