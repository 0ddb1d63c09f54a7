-- The as-of date of customer_360: the latest business date of the core balances (never
-- now(), so a rebuild of the same data gives the same answer), the last complete month
-- before it and the first month of the contribution window (var contribution_window_months).
{% set month_of_latest = "cast(date_trunc('month', max(balances.business_date)) as date)" %}
with balances as (

    select * from {{ ref('int_account_balances_keyed') }}

),

final as (

    select
        max(balances.business_date) as as_of_date,
        cast({{ months_before(month_of_latest, 1) }} as date) as last_month_start,
        cast({{ months_before(month_of_latest, var('contribution_window_months')) }} as date)
            as contribution_window_start
    from balances

)

select * from final
