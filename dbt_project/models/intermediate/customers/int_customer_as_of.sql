-- The as-of date of customer_360: the latest business date of the core balances (never
-- now(), so a rebuild of the same data gives the same answer), the last complete month
-- before it and the first month of the contribution window (var contribution_window_months).
with balances as (

    select * from {{ ref('int_account_balances_keyed') }}

),

final as (

    select
        max(balances.business_date) as as_of_date,
        cast(date_trunc('month', max(balances.business_date)) - interval 1 month as date) as last_month_start,
        cast(
            date_trunc('month', max(balances.business_date))
            - to_months({{ var('contribution_window_months') }}) as date
        ) as contribution_window_start
    from balances

)

select * from final
