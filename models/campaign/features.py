"""The rows of the response model: each outbound campaign contact, with what was known the
day before the week of the call, and whether the contact converted.

A campaign contact is a customer called by an outbound campaign (calls feed: `campaign_id`,
direction OUTBOUND); it converted when any of the campaign's calls to the customer ended in a
SALE. Its features are read as of the last business date before the week of its first call
(`as_of`; contacts in the warehouse's first week have none and are left out): the churn
model's point-in-time customer features (models/churn/features.py: balances and their trends,
activity by channel, calls, tenure, value tier, RFM) and the customer's own campaign history
up to that day (offers, sales, days since the last offer). Weekly as-of dates keep the feature
dates few (one per week, not one per call) while reading nothing the call could have changed.
Scoring a night reads the same features as of that night.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from models.churn.features import FEATURE_NAMES as CUSTOMER_FEATURES
from models.churn.features import compute_features

HISTORY_FEATURES = ("offers_365d", "sales_365d", "days_since_offer")
FEATURE_NAMES = (*CUSTOMER_FEATURES, *HISTORY_FEATURES)

_CONTACTS_SQL = """
with campaign_calls as (
    select campaign_id, customer_key, call_date, outcome
    from intermediate.int_calls_keyed
    where campaign_id is not null and direction = 'OUTBOUND' and customer_key is not null
),
contacts as (
    select
        campaign_id,
        customer_key,
        min(call_date) as first_call_date,
        cast(date_trunc('week', min(call_date)) as date) as week_start,
        bool_or(outcome = 'SALE') as converted
    from campaign_calls
    group by all
),
snapshot_dates as (
    select distinct business_date from intermediate.int_account_balances_keyed
)
select
    contacts.campaign_id,
    contacts.customer_key,
    contacts.first_call_date,
    (
        select max(snapshot_dates.business_date) from snapshot_dates
        where snapshot_dates.business_date < contacts.week_start
    ) as as_of,
    contacts.converted
from contacts
"""

_HISTORY_SQL = """
with campaign_calls as (
    select customer_key, call_date, outcome
    from intermediate.int_calls_keyed
    where campaign_id is not null and direction = 'OUTBOUND' and customer_key is not null
)
select
    dates.as_of,
    campaign_calls.customer_key,
    cast(count(*) as double) as offers_365d,
    cast(count(*) filter (where campaign_calls.outcome = 'SALE') as double) as sales_365d,
    cast(dates.as_of - max(campaign_calls.call_date) as double) as days_since_offer
from response_as_of as dates
inner join campaign_calls
    on campaign_calls.call_date <= dates.as_of and campaign_calls.call_date > dates.as_of - interval 365 day
group by dates.as_of, campaign_calls.customer_key
"""


def contacts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every campaign contact: `campaign_id`, `customer_key`, `first_call_date`, `as_of`, `converted`."""
    frame = con.execute(_CONTACTS_SQL).df().dropna(subset=["as_of"]).reset_index(drop=True)
    for column in ("first_call_date", "as_of"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def customer_features(con: duckdb.DuckDBPyConnection, dates: list[date]) -> pd.DataFrame:
    """One row per customer with an open account on each date (`as_of`), every feature of
    FEATURE_NAMES (doubles; null where unknown; the history features are 0 without an offer
    but `days_since_offer`, null)."""
    frame = compute_features(con, dates).to_pandas().rename(columns={"score_date": "as_of"})
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    frame = frame.merge(campaign_history(con, dates), on=["as_of", "customer_key"], how="left")
    frame[["offers_365d", "sales_365d"]] = frame[["offers_365d", "sales_365d"]].fillna(0.0)
    return frame


def campaign_history(con: duckdb.DuckDBPyConnection, dates: list[date]) -> pd.DataFrame:
    """Per date (`as_of`) and customer offered anything in the 365 days up to it: the campaign
    calls (`offers_365d`), those that ended in a sale (`sales_365d`), days since the last one."""
    con.execute("create or replace temp table response_as_of (as_of date)")
    con.executemany("insert into response_as_of values (?)", [[d] for d in sorted(set(dates))])
    history = con.execute(_HISTORY_SQL).df()
    history["as_of"] = pd.to_datetime(history["as_of"]).dt.date
    return history


def labelled_rows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every contact with its features as of its `as_of` (contacts of customers without an
    open account that day are left out: nothing is known of them to score)."""
    found = contacts(con)
    if found.empty:
        return found.assign(**{name: pd.Series(dtype="float64") for name in FEATURE_NAMES})
    features = customer_features(con, sorted(set(found["as_of"])))
    return found.merge(features, on=["as_of", "customer_key"], how="inner")


def matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns, in the order of FEATURE_NAMES."""
    return frame.loc[:, list(FEATURE_NAMES)].astype("float64")
