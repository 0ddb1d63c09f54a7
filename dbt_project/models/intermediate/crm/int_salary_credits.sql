-- The ledger's salary and pension credits (txn_type SALARY, amount above zero), every one ever
-- delivered, and one row per business date (txn_id null) with the date's latest posting_date:
-- SALARY_STOPPED's history (int_customer_events_salary), which counts and averages a
-- customer's credits over the whole history. Kept as a table so that the rule reads these few
-- rows instead of every posting of the ledger each night (docs/crm.md). Neither the customer
-- nor the reversal is kept: the rule joins both as they stand tonight (a key re-assigned, a
-- credit reversed on a later day).
--
-- Incremental (macros/incremental.sql, strategy replace_tail): the restart is the earliest
-- business date that a load newer than the table's watermark (its latest as_of_load_id)
-- delivered for the core system, with or without rows; every row from the restart on is
-- replaced by what the lake holds now, so a corrected delivery that withdrew a credit, or a
-- whole date, leaves none behind (the marker row carries the restart when no row does).
{#- On Spark partitioned by business_date, a night overwriting the partitions from its restart
    (incremental_by_tail, macros/engines.sql). -#}
{%- set output_columns = [
    'account_id', 'txn_id', 'posting_date', 'amount', 'business_date', 'rebuilt_from', 'as_of_load_id',
] %}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_tail('account_id', 'business_date'),
    )
}}

with restart as (

    {% if is_incremental() %}
        select
            {{
                reprocess_from(
                    ref('stg_core_banking__transactions'), 'business_date', 'as_of_load_id', system='core_banking'
                )
            }} as restart_date
    {% else %}
        select date '0001-01-01' as restart_date
    {% endif %}

),

transactions as (

    select source_transactions.*
    from {{ ref('stg_core_banking__transactions') }} as source_transactions
    where source_transactions.business_date >= (select restart.restart_date from restart)

),

watermark as (

    -- with the night's load even if it brought no posting (a re-delivery that withdrew a date's)
    select greatest(max(transactions._load_id), {{ newer_load_id('core_banking') }}) as as_of_load_id
    from transactions

),

credits as (

    select
        transactions.account_id,
        transactions.txn_id,
        transactions.posting_date,
        transactions.amount,
        transactions.business_date
    from transactions
    where
        transactions.txn_type = 'SALARY'
        and transactions.amount > 0

),

-- each business date's latest posting date: how far the ledger reaches, and a row for every
-- delivered date, so that the watermark moves on a night without a salary credit
business_dates as (

    select
        cast(null as {{ string_type() }}) as account_id,
        cast(null as {{ string_type() }}) as txn_id,
        max(transactions.posting_date) as posting_date,
        cast(null as decimal(18, 4)) as amount,
        transactions.business_date
    from transactions
    group by transactions.business_date

),

final as (

    select
        dated.account_id,
        dated.txn_id,
        dated.posting_date,
        dated.amount,
        dated.business_date,
        restart.restart_date as rebuilt_from,
        watermark.as_of_load_id
    from (
        select * from credits
        union all
        select * from business_dates
    ) as dated
    cross join restart
    cross join watermark

)

select * from final
{%- if is_incremental() %}
    -- the marker the strategy does not insert (macros/incremental.sql): the night's restart
    {{ positional_markers(output_columns, 'account_id', 'select null as account_id, restart.restart_date as rebuilt_from from restart') }}
{%- endif %}
