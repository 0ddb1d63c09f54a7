"""The input of identity resolution: every core customer record's last known state, read
from the lake, its identifying attributes normalised.

Its one definition: the resolve step writes these records beside the resolution
(`customer_records.parquet`) and dbt's `int_customer_records_normalised` reads them from
there, so the records matched and the records the warehouse shows are the same rows.
The last known state is the record's row from the latest snapshot it appears in, as dbt's
`int_customers_current` selects it (tests/test_identity.py checks that they agree); the
normalisation is `models.identity.normalise`, through the same UDFs dbt registers.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from extract.sql import DuckDBConfig, path_pattern
from models.identity.normalise import register_udfs

RECORD_COLUMNS = (
    "customer_id",
    "customer_type",
    "national_id",
    "name_fold",
    "birth_date",
    "gender",
    "phone_e164",
    "email",
    "address_fold",
    "postal_code",
)
"""The columns resolution reads."""

CUSTOMERS_FEED = Path("core_banking") / "customers"
"""The core system's customer snapshots in the lake (`<feed>/business_date=<D>/*.parquet`)."""

_RECORDS_SQL = """
with customers as (

    select
        cast(customer_id as varchar) as customer_id,
        cast(customer_type as varchar) as customer_type,
        cast(full_name as varchar) as full_name,
        cast(national_id as varchar) as national_id,
        cast(birth_date as date) as birth_date,
        cast(gender as varchar) as gender,
        cast(phone as varchar) as phone,
        cast(email as varchar) as email,
        cast(address as varchar) as address,
        cast(postal_code as varchar) as postal_code,
        cast(updated_at as timestamptz) as updated_at,
        cast(_business_date as date) as snapshot_date
    from read_parquet(?, union_by_name = true, hive_partitioning = false)

),

latest_state as (

    select * from customers
    qualify row_number() over (partition by customer_id order by snapshot_date desc) = 1

)

select
    customer_id,
    customer_type,
    bankdw_national_id(national_id) as national_id,
    bankdw_name_fold(full_name) as name_fold,
    birth_date,
    gender,
    bankdw_phone_e164(phone) as phone_e164,
    bankdw_email(email) as email,
    bankdw_name_fold(address) as address_fold,
    nullif(trim(postal_code), '') as postal_code,
    updated_at,
    snapshot_date
from latest_state
order by customer_id
"""


def customer_records(lake_dir: Path, phone_region: str, duckdb_config: DuckDBConfig | None = None) -> pa.Table:
    """Every core customer record's last known state, normalised (RECORD_COLUMNS, then
    `updated_at` and `snapshot_date`), one row per customer_id, in customer_id order.
    `duckdb_config`: of the connection that reads the lake (IdentityConfig.duckdb_config)."""
    con = duckdb.connect(config=dict(duckdb_config or {}))
    try:
        register_udfs(con, phone_region)
        # the bank's time zone does not matter here: updated_at stays an instant
        snapshots = path_pattern(lake_dir / CUSTOMERS_FEED, "*/*.parquet")
        return con.sql(_RECORDS_SQL, params=[snapshots]).to_arrow_table()
    finally:
        con.close()
