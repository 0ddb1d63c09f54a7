"""Profitability by product, branch and relationship manager (the *_profitability_monthly marts)."""

import altair as alt
import pandas as pd
import streamlit as st
from catalog import DASHBOARDS
from warehouse import as_floats, money, query, total

MEASURES = ["net_interest_income", "fee_income", "other_income", "operating_cost", "credit_cost", "contribution",
            "capital_charge", "economic_profit", "raroc"]  # fmt: skip

products = query("product_profitability")
st.title(DASHBOARDS["profitability"].title)
if products.empty:
    st.info("No profitability yet: the published warehouse holds no month of the profitability marts.")
    st.stop()
months = sorted(products["month_start"].unique(), reverse=True)
month = st.selectbox("Month", months, format_func=lambda m: f"{m:%B %Y}")


def of_month(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["month_start"] == month]


latest = of_month(products)
left, middle, right = st.columns(3)
left.metric("Contribution", money(total(latest, "contribution")))
middle.metric("Economic profit", money(total(latest, "economic_profit")))
right.metric("Net interest income", money(total(latest, "net_interest_income")))


def ranking(frame: pd.DataFrame, label: str) -> None:
    chart = (
        alt.Chart(as_floats(frame))
        .mark_bar()
        .encode(
            y=alt.Y(f"{label}:N", sort="-x", title=None),
            x=alt.X("contribution:Q", title="contribution"),
            color=alt.condition("datum.contribution < 0", alt.value("#c0392b"), alt.value("#2c7fb8")),
            tooltip=[label, alt.Tooltip("contribution:Q", format=",.2f"), alt.Tooltip("raroc:Q", format=".1%")],
        )
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(frame[[label, *MEASURES]].sort_values("contribution", ascending=False), hide_index=True)


by_product, by_branch, by_rm = st.tabs(["By product", "By branch", "By relationship manager"])
with by_product:
    ranking(latest, "product_name")
with by_branch:
    ranking(of_month(query("branch_profitability")), "branch_name")
with by_rm:
    ranking(of_month(query("rm_profitability")), "rm_name")
