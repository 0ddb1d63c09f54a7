-- Month-end balance snapshot of every account: its balance on the last business date of
-- the month it was delivered (the latest date for the current month), with the month's
-- average daily balance. Kept for every month of the lake's history: the lake keeps every
-- delivery, and this table is rebuilt from it, so no month ever drops out (the daily
-- snapshot beside it keeps only a window, fct_account_balance_daily_recent).
with balances as (

    select * from {{ ref('int_account_balances_keyed') }}

),

interest as (

    select * from {{ ref('int_account_interest_monthly') }}

),

month_end as (

    select
        cast(date_trunc('month', balances.business_date) as date) as month_start,
        balances.account_id,
        balances.customer_key,
        balances.product_code,
        balances.currency,
        balances.business_date as snapshot_date,
        balances.ledger_balance,
        balances.available_balance,
        balances.accrued_interest
    from balances
    qualify
        row_number() over (
            partition by balances.account_id, cast(date_trunc('month', balances.business_date) as date)
            order by balances.business_date desc
        ) = 1

),

final as (

    select
        month_end.*,
        interest.n_days_on_book,
        cast(interest.avg_balance as decimal(18, 2)) as avg_balance
    from month_end
    left join interest
        on
            month_end.account_id = interest.account_id
            and month_end.month_start = interest.month_start

)

select * from final
