"""Value pyramid and Pareto curve (fct_customer_value_monthly, latest month)."""

import altair as alt
import streamlit as st
from catalog import DASHBOARDS
from warehouse import TIER_ORDER, as_floats, count, money, query, total

segments = query("value_segments")
curve = query("pareto_curve")
st.title(DASHBOARDS["value_pyramid"].title)
if segments.empty:
    st.info("No customer value yet: the published warehouse holds no month of fct_customer_value_monthly.")
    st.stop()
month = segments["month_start"].iloc[0]
complete = "complete" if segments["is_complete_month"].iloc[0] else "to date"
st.caption(f"Month {month:%B %Y} ({complete}); contribution over 12 months.")

tier_a = segments[segments["value_tier"] == "A"]
left, middle, right = st.columns(3)
left.metric("Customers", count(segments["customers"].sum()))
middle.metric("Customers in tier A", count(tier_a["customers"].sum()))
right.metric("Contribution 12m", money(total(segments, "contribution_12m")))

tiers = as_floats(segments).groupby("value_tier", as_index=False)[["customers", "contribution_12m"]].sum()
pyramid = (
    alt.Chart(tiers)
    .mark_bar()
    .encode(
        y=alt.Y("value_tier:N", sort=TIER_ORDER, title="value tier"),
        x=alt.X("customers:Q", title="customers"),
        tooltip=["value_tier", "customers", alt.Tooltip("contribution_12m:Q", format=",.2f")],
    )
)
st.subheader("Customers by value tier")
st.altair_chart(pyramid, width="stretch")

st.subheader("Pareto curve")
st.caption("Share of the month's positive contribution made by the customers ranked up to each one.")
pareto = (
    alt.Chart(as_floats(curve))
    .mark_line()
    .encode(
        x=alt.X("customer_share:Q", axis=alt.Axis(format="%"), title="customers, most valuable first"),
        y=alt.Y("contribution_share:Q", axis=alt.Axis(format="%"), title="share of positive contribution"),
    )
)
st.altair_chart(pareto, width="stretch")

st.subheader("Tiers and classes")
st.dataframe(
    segments[["value_tier", "value_class", "customers", "contribution_12m", "economic_profit_12m"]].sort_values(
        ["value_tier", "value_class"]
    ),
    hide_index=True,
)
