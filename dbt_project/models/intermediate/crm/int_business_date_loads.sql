-- The latest lake load of every business date, over every feed that dates its rows: the run
-- that last delivered (or re-delivered) the date. The customer events name it as the run that
-- detected them, and fct_customer_events uses it as its watermark (macros/crm_events.sql).
-- A load counts for a date when a row of the date carries it, or when the lake's load audit
-- says it loaded a delivery of the date (outcome LOADED, any system): a re-delivery that
-- withdrew every row of a date (an empty file, an optional file left out) carries no row, yet
-- it replaced the date's partitions, and the events of that date must be judged again
-- (docs/crm.md, "The latest load of each date"). Each of the three systems has a dated feed
-- here, and its delivery of a date replaces every feed of the system for that date.
-- A table the build computes once (the events, their window, the leads and the scorecards read
-- it about seven times a build), incremental: a night reads only the rows of loads newer than
-- the latest it holds, which DuckDB finds from the Parquet files' statistics of _load_id (every
-- lake partition is written whole by one load) without reading the older rows, and the audit's
-- rows of those loads (a few per delivery); the dates those loads delivered get their new
-- latest load. Load ids grow with time (the events' watermark relies on it too). A full
-- refresh scans every row. On Spark partitioned by business_date, a night overwriting the
-- partitions of the dates it found a newer load of (incremental_by_date, macros/engines.sql).
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_date('business_date'),
    )
}}

with balances as (

    select * from {{ ref('stg_core_banking__balances') }}

),

transactions as (

    select * from {{ ref('stg_core_banking__transactions') }}

),

loans as (

    select * from {{ ref('stg_core_banking__loans') }}

),

accounts as (

    select * from {{ ref('stg_core_banking__accounts') }}

),

calls as (

    select * from {{ ref('stg_call_center__calls') }}

),

web_events as (

    select * from {{ ref('stg_online_banking__events') }}

),

deliveries as (

    select * from {{ source('lake_audit', 'loads') }}
    where outcome = 'LOADED'

),

dated_loads as (

    select
        balances.business_date,
        balances._load_id
    from balances
    union all
    select
        transactions.business_date,
        transactions._load_id
    from transactions
    union all
    select
        loans.business_date,
        loans._load_id
    from loans
    union all
    select
        accounts.snapshot_date as business_date,
        accounts._load_id
    from accounts
    union all
    select
        calls.business_date,
        calls._load_id
    from calls
    union all
    select
        web_events.received_date as business_date,
        web_events._load_id
    from web_events
    union all
    select
        deliveries.business_date,
        deliveries.load_id as _load_id
    from deliveries

),

final as (

    select
        dated_loads.business_date,
        max(dated_loads._load_id) as load_id
    from dated_loads
    {% if is_incremental() %}
        where dated_loads._load_id > (select coalesce(max(loaded.load_id), '') from {{ this }} as loaded)
    {% endif %}
    group by dated_loads.business_date

)

select * from final
