-- The latest lake load of every business date, over every feed that dates its rows: the run
-- that last delivered (or re-delivered) the date. The customer events name it as the run that
-- detected them, and fct_customer_events uses it as its watermark (macros/crm_events.sql).
-- A load counts for a date when a row of the date carries it, or when the lake's load audit
-- says it loaded a delivery of the date (outcome LOADED, any system): a re-delivery that
-- withdrew every row of a date (an empty file, an optional file left out) carries no row, yet
-- it replaced the date's partitions, and the events of that date must be judged again
-- (docs/crm.md, "The latest load of each date"). Each of the three systems has a dated feed
-- here, and its delivery of a date replaces every feed of the system for that date.
-- earliest_fact_date: the earliest day a fact delivered for the date happened on, over every
-- load of the date so far (its latest and those it replaced): the date itself, a posting's
-- posting_date, the posting date of a posting that one of its reversals cancels (the
-- agreement: "possibly from an earlier date"), the day a web event happened (events arrive
-- days late) and the day a call started (before midnight, ended after). An event is judged from
-- facts dated on or before its own date, so a night that loads the date judges again the
-- events from that day on (macros/crm_events.sql, customer_events_window_start). Kept over the
-- loads of the date, because a re-delivery that withdraws a late event or a reversal no longer
-- carries its day.
-- has_balances, has_loans, has_account_snapshots: whether the date holds rows of that feed of
-- the core system, as its loads so far left it (a delivery of the core system replaces each of
-- its feeds for the date, one of another system leaves them). The rules that compare a day with
-- the delivered day before (balance drop, dormancy, loans) need the window's first day's: after a
-- silent day (a weekend, a holiday, an empty file) it lies further back than the day before
-- (macros/crm_events.sql, customer_events_window_start).
-- A table the build computes once (the events, their window, the leads and the scorecards read
-- it about seven times a build), incremental: a night reads only the rows of loads newer than
-- the latest it holds, which DuckDB finds from the Parquet files' statistics of _load_id (every
-- lake partition is written whole by one load) without reading the older rows, and the audit's
-- rows of those loads (a few per delivery); the dates those loads delivered get their new
-- latest load. Load ids grow with time (the events' watermark relies on it too). A full
-- refresh scans every row. The posting a new reversal cancels is looked up in the ledger by its
-- txn_id (a scan of that column). On Spark partitioned by business_date, a night overwriting the
-- partitions of the dates it found a newer load of (incremental_by_date, macros/engines.sql).
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_date('business_date'),
    )
}}
{#- the loads this table holds (a full refresh: none) -#}
{%- set newer_than = "''" -%}
{%- set new_reversals = true -%}
{#- the core system's feeds a date says it holds: flag -> the feed of dated_loads -#}
{%- set core_feeds = {
    'has_balances': 'balances', 'has_loans': 'loans', 'has_account_snapshots': 'accounts',
} -%}
{%- if is_incremental() -%}
    {%- set newer_than = "(select coalesce(max(loaded.load_id), '') from " ~ this ~ " as loaded)" -%}
    {#- Finding a reversed posting's day reads the ledger's ids: only on a night whose loads
        brought a reversal (asked first: the newer loads' rows alone). Not in a unit test, whose
        inputs exist only inside the model's query. -#}
    {%- if execute and model.resource_type == 'model' -%}
        {%- set found = run_query(
            "select count(*) from " ~ ref('stg_core_banking__transactions')
            ~ " where txn_type = 'REVERSAL' and _load_id > " ~ newer_than
        ) -%}
        {%- set new_reversals = found.columns[0].values()[0] > 0 -%}
    {%- endif -%}
{%- endif %}

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

-- the postings that the newer loads' reversals cancel, with the day they were posted on
reversed_postings as (

    select
        reversals.business_date,
        reversals._load_id,
        reversed.posting_date
    from transactions as reversals
    inner join transactions as reversed
        on reversals.reversed_txn_id = reversed.txn_id
    where
        reversals.txn_type = 'REVERSAL'
        and reversals._load_id > {{ newer_than }}
        and {{ 'true' if new_reversals else 'false' }}

),

dated_loads as (

    select
        balances.business_date,
        balances._load_id,
        balances.business_date as fact_date,
        'core_banking' as system,
        'balances' as feed
    from balances
    union all
    select
        transactions.business_date,
        transactions._load_id,
        transactions.posting_date as fact_date,
        'core_banking' as system,
        'transactions' as feed
    from transactions
    union all
    select
        reversed_postings.business_date,
        reversed_postings._load_id,
        reversed_postings.posting_date as fact_date,
        'core_banking' as system,
        'transactions' as feed
    from reversed_postings
    union all
    select
        loans.business_date,
        loans._load_id,
        loans.business_date as fact_date,
        'core_banking' as system,
        'loans' as feed
    from loans
    union all
    select
        accounts.snapshot_date as business_date,
        accounts._load_id,
        accounts.snapshot_date as fact_date,
        'core_banking' as system,
        'accounts' as feed
    from accounts
    union all
    select
        calls.business_date,
        calls._load_id,
        cast(calls.started_at as date) as fact_date,
        'call_center' as system,
        'calls' as feed
    from calls
    union all
    select
        web_events.received_date as business_date,
        web_events._load_id,
        -- the day in the bank's time zone, as int_web_events_deduplicated dates it
        cast(web_events.event_ts as date) as fact_date,
        'online_banking' as system,
        'events' as feed
    from web_events
    union all
    select
        deliveries.business_date,
        deliveries.load_id as _load_id,
        deliveries.business_date as fact_date,
        deliveries.system,
        -- (the audit says a file was delivered, not that it held a row)
        cast(null as {{ string_type() }}) as feed
    from deliveries

),

newest as (

    select
        dated_loads.business_date,
        max(dated_loads._load_id) as load_id,
        least(min(dated_loads.fact_date), dated_loads.business_date) as earliest_fact_date,
        {%- for flag, feed in core_feeds.items() %}
            coalesce(bool_or(dated_loads.feed = '{{ feed }}'), false) as {{ flag }},
        {%- endfor %}
        bool_or(dated_loads.system = 'core_banking') as is_core_banking_loaded
    from dated_loads
    where dated_loads._load_id > {{ newer_than }}
    group by dated_loads.business_date

),

-- the day each date's earlier loads reached back to (a full refresh: none)
kept as (

    {% if is_incremental() %}
        select
            loaded.business_date,
            {%- for flag in core_feeds %}
                loaded.{{ flag }},
            {%- endfor %}
            loaded.earliest_fact_date
        from {{ this }} as loaded
    {% else %}
        select
            cast(null as date) as business_date,
            {%- for flag in core_feeds %}
                cast(null as boolean) as {{ flag }},
            {%- endfor %}
            cast(null as date) as earliest_fact_date
        where false
    {% endif %}

),

final as (

    select
        newest.business_date,
        newest.load_id,
        least(newest.earliest_fact_date, coalesce(kept.earliest_fact_date, newest.earliest_fact_date))
            as earliest_fact_date,
        -- a delivery of the core system replaces each of its feeds for the date; another
        -- system's leaves them as they were
        case
            when newest.is_core_banking_loaded then newest.has_balances
            else coalesce(kept.has_balances, false)
        end as has_balances,
        case
            when newest.is_core_banking_loaded then newest.has_loans
            else coalesce(kept.has_loans, false)
        end as has_loans,
        case
            when newest.is_core_banking_loaded then newest.has_account_snapshots
            else coalesce(kept.has_account_snapshots, false)
        end as has_account_snapshots
    from newest
    left join kept
        on newest.business_date = kept.business_date

)

select * from final
