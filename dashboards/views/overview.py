"""The landing page: what each dashboard shows and the dates its figures are taken on."""

import streamlit as st
from warehouse import query

st.title("Bank warehouse dashboards")
st.caption("Figures from the served warehouse (analyst login, PII masked). docs/dashboards.md says how they are built.")
as_of = query("as_of")
st.dataframe(as_of, hide_index=True)
st.markdown(
    """
- [Value pyramid and Pareto curve](value_pyramid): customers by value tier and class, and who makes the contribution.
- [Profitability](profitability): contribution and economic profit by product, branch and relationship manager.
- [Loan book](loan_book): loans, principal and provisions by classification; the non-performing loans.
- [Churn risk](churn_risk): tonight's churn scores by risk band and the customers most likely to leave.
- [RM lead list](rm_leads): the leads of each relationship manager, open ones first.
"""
)
