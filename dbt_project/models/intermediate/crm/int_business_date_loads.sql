-- The latest lake load of every business date, over every feed that dates its rows: the run
-- that last delivered (or re-delivered) the date. The customer events name it as the run that
-- detected them, and fct_customer_events uses it as its watermark (macros/crm_events.sql).
-- A table the build computes once (the events, their window, the leads and the scorecards read
-- it about seven times a build), incremental: a night reads only the rows of loads newer than
-- the latest it holds, which DuckDB finds from the Parquet files' statistics of _load_id (every
-- lake partition is written whole by one load) without reading the older rows; the dates those
-- loads delivered get their new latest load. Load ids grow with time (the events' watermark
-- relies on it too). A full refresh scans every row.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='business_date',
        on_schema_change='fail',
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
