"""Households: connected components of the customer links of int_customer_household_links.

A dbt Python model because connected components are a loop SQL has no good form for; the
components and their keys come from models.value.households. One row per customer in a
household of two or more; household_key is the md5 of the household's anchor, the address,
phone or joint account it is built around, so it stays when a member joins or leaves (the
rule is in models/value/households.py and docs/customer_value.md).
"""

import pyarrow as pa

from models.value.households import households


def model(dbt, session):
    dbt.config(materialized="table")
    links = dbt.ref("int_customer_household_links").to_arrow_table()
    found = households(
        links.column("customer_key_a").to_pylist(),
        links.column("customer_key_b").to_pylist(),
        links.column("link_type").to_pylist(),
        links.column("shared_value").to_pylist(),
    )
    return pa.table(
        {
            "customer_key": pa.array(found.customer_key, pa.string()),
            "household_key": pa.array(found.household_key, pa.string()),
            "shares_address": pa.array(found.flags["SHARED_ADDRESS"]),
            "shares_phone": pa.array(found.flags["SHARED_PHONE"]),
            "holds_joint_account": pa.array(found.flags["JOINT_ACCOUNT"]),
        }
    )
