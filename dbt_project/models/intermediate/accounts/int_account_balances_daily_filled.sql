-- Every account on every calendar day from its first to its last end-of-day balance, with
-- the balance and the customer rate carried forward over days the core did not deliver
-- (a weekend, a holiday): interest accrues on calendar days, not on delivery days.
with balances as (

    select * from {{ ref('stg_core_banking__balances') }}

),

account_snapshots as (

    select * from {{ ref('stg_core_banking__accounts') }}

),

account_spans as (

    select
        balances.account_id,
        min(balances.business_date) as first_balance_date,
        max(balances.business_date) as last_balance_date
    from balances
    group by balances.account_id

),

account_days as (

    select
        account_spans.account_id,
        cast(
            unnest(
                generate_series(
                    account_spans.first_balance_date,
                    account_spans.last_balance_date,
                    interval 1 day
                )
            ) as date
        ) as balance_date
    from account_spans

),

observed as (

    select
        account_days.account_id,
        account_days.balance_date,
        balances.ledger_balance,
        account_snapshots.interest_rate_pct,
        balances.account_id is not null as is_observed
    from account_days
    left join balances
        on
            account_days.account_id = balances.account_id
            and account_days.balance_date = balances.business_date
    left join account_snapshots
        on
            account_days.account_id = account_snapshots.account_id
            and account_days.balance_date = account_snapshots.snapshot_date

),

filled as (

    select
        observed.account_id,
        observed.balance_date,
        observed.is_observed,
        last_value(observed.ledger_balance ignore nulls) over account_history as ledger_balance,
        last_value(observed.interest_rate_pct ignore nulls) over account_history as interest_rate_pct
    from observed
    window account_history as (
        partition by observed.account_id
        order by observed.balance_date
        rows between unbounded preceding and current row
    )

)

select * from filled
