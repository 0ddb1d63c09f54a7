"""Households: connected components of the customer links of int_customer_household_links.

A dbt Python model because connected components are a loop SQL has no good form for; the
components come from models.identity (numpy, the same routine identity resolution uses).
One row per customer in a household of two or more; household_key is the md5 of the
household's smallest customer_key (a household is derived each run, not a registered entity).
"""

import hashlib

import numpy as np
import pyarrow as pa

from models.identity.graph import components


def model(dbt, session):
    dbt.config(materialized="table")
    links = dbt.ref("int_customer_household_links").to_arrow_table()
    a = links.column("customer_key_a").to_pylist()
    b = links.column("customer_key_b").to_pylist()
    kinds = links.column("link_type").to_pylist()
    keys = sorted(set(a) | set(b))
    index = {k: i for i, k in enumerate(keys)}
    left = np.array([index[k] for k in a], np.int64)
    right = np.array([index[k] for k in b], np.int64)
    label = components(len(keys), left, right)
    flags = {kind: np.zeros(len(keys), bool) for kind in ("SHARED_ADDRESS", "SHARED_PHONE", "JOINT_ACCOUNT")}
    for i, j, kind in zip(left, right, kinds, strict=True):
        flags[kind][i] = flags[kind][j] = True
    household = [hashlib.md5(f"household/{keys[root]}".encode()).hexdigest() for root in label]
    return pa.table(
        {
            "customer_key": pa.array(keys, pa.string()),
            "household_key": pa.array(household, pa.string()),
            "shares_address": pa.array(flags["SHARED_ADDRESS"]),
            "shares_phone": pa.array(flags["SHARED_PHONE"]),
            "holds_joint_account": pa.array(flags["JOINT_ACCOUNT"]),
        }
    )
