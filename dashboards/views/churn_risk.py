"""Churn risk (customer_360's churn columns, from tonight's fct_churn_scores)."""

import altair as alt
import streamlit as st
from catalog import DASHBOARDS
from warehouse import as_floats, count, money, query, total

BANDS = ["HIGH", "MEDIUM", "LOW"]

bands = query("churn_bands")
st.title(DASHBOARDS["churn_risk"].title)
high = bands[bands["churn_risk_band"] == "HIGH"]
left, middle, right = st.columns(3)
left.metric("Customers scored", count(bands["customers"].sum()))
middle.metric("Customers at high risk", count(high["customers"].sum()))
right.metric("Contribution 12m at high risk", money(total(high, "contribution_12m")))
if bands.empty:
    st.info(
        "No churn scores tonight: no churn model is trained for this warehouse "
        "(`bankdw models train churn`, docs/models.md)."
    )
    st.stop()
chart = (
    alt.Chart(as_floats(bands))
    .mark_bar()
    .encode(x=alt.X("churn_risk_band:N", sort=BANDS, title="risk band"), y="customers:Q",
            tooltip=["churn_risk_band", "customers", alt.Tooltip("contribution_12m:Q", format=",.2f")])
)  # fmt: skip
st.altair_chart(chart, width="stretch")
st.subheader("Most likely to leave")
st.dataframe(query("churn_watchlist"), hide_index=True)
