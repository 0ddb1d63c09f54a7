"""The loan book by classification (fct_loan_book_monthly, latest month end)."""

from decimal import Decimal

import altair as alt
import streamlit as st
from catalog import DASHBOARDS
from warehouse import as_floats, count, money, query, total

ORDER = ["NORMAL", "WATCH", "SUBSTANDARD", "DOUBTFUL", "LOSS"]

book = query("loan_book")
st.title(DASHBOARDS["loan_book"].title)
if book.empty:
    st.info("No loan book yet: the published warehouse holds no month of fct_loan_book_monthly.")
    st.stop()
month = book["month_start"].max()
latest = book[book["month_start"] == month]
st.caption(f"Month end of {month:%B %Y}. Non-performing: SUBSTANDARD, DOUBTFUL and LOSS.")

principal = total(latest, "outstanding_principal")
npl = total(latest[latest["is_non_performing"]], "outstanding_principal")
first, second = st.columns(2)
third, fourth = st.columns(2)
first.metric("Loans", count(latest["loans"].sum()))
second.metric("Outstanding principal", money(principal))
third.metric("Non-performing principal", money(npl))
fourth.metric("NPL ratio", f"{(npl / principal if principal else Decimal(0)):.2%}")

chart = (
    alt.Chart(as_floats(latest))
    .mark_bar()
    .encode(
        x=alt.X("classification:N", sort=ORDER),
        y=alt.Y("outstanding_principal:Q", title="outstanding principal"),
        color=alt.Color("is_non_performing:N", title="non-performing"),
        tooltip=["classification", "loans", alt.Tooltip("outstanding_principal:Q", format=",.2f")],
    )
)
st.altair_chart(chart, width="stretch")
st.dataframe(
    latest[["classification", "loans", "outstanding_principal", "required_provision", "write_off", "credit_cost"]],
    hide_index=True,
)
st.subheader("By month")
trend = as_floats(book).groupby(["month_start", "classification"], as_index=False)["outstanding_principal"].sum()
by_month = (
    alt.Chart(trend)
    .mark_bar()
    .encode(x="yearmonth(month_start):O", y="outstanding_principal:Q", color="classification:N")
)
st.altair_chart(by_month, width="stretch")
