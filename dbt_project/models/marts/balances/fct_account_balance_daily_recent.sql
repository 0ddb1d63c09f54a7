-- Daily balance snapshot of every account over the last `balance_snapshot_window_days`
-- days (a dbt var, dbt_project.yml) ending on the latest business date delivered. Older days
-- survive as month ends in fct_account_balance_monthly.
-- Incremental by business date like fct_account_balance_daily (macros/incremental.sql): a
-- night inserts the dates newer loads touched, within the window, and the post-hook drops the
-- dates the window has left, so a night costs one day's rows whatever the window holds.
-- depends_on: {{ ref('int_accounts_resolved') }} (post-hooks)
{# On Spark partitioned by business_date, a night overwriting the partitions of its dates
   (incremental_by_date, macros/engines.sql) and dropping those the window left. -#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_withdrawn_rows('core_banking', ref('int_account_balances_keyed'), 'business_date', 'business_date') }}",
        ],
        post_hook=[
            "{{ drop_dates_before_window('business_date', var('balance_snapshot_window_days')) }}",
            "{{ refresh_customer_keys(ref('int_accounts_resolved'), 'account_id', 'account_id', ['product_code']) }}",
        ],
        **incremental_by_date('business_date'),
    )
}}

with balances as (

    select * from {{ ref('int_account_balances_keyed') }}
    {% if is_incremental() %}
        where business_date >= {{ reprocess_from(ref('int_account_balances_keyed'), 'business_date', system='core_banking') }}
    {% endif %}

),

latest as (

    {% if is_incremental() %}
        -- the window ends on the latest date of the table or of tonight's rows
        select max(dates.business_date) as latest_business_date
        from (
            select max(balances.business_date) as business_date from balances
            union all
            select max(kept.business_date) as business_date from {{ this }} as kept
        ) as dates
    {% else %}
        select max(balances.business_date) as latest_business_date
        from balances
    {% endif %}

),

final as (

    select
        balances.business_date,
        balances.account_id,
        balances.customer_key,
        balances.product_code,
        balances.currency,
        balances.ledger_balance,
        balances.available_balance,
        balances.accrued_interest,
        balances._load_id as load_id
    from balances
    cross join latest
    where
        balances.business_date
        > latest.latest_business_date - {{ var('balance_snapshot_window_days') }}

)

select * from final
