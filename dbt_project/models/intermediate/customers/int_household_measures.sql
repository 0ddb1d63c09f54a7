-- What every household holds and earns the bank: its members' deposit and loan balances on
-- the as-of date (int_customer_holdings, already shared by allocation weight) and
-- contribution over customer_360's window (var contribution_window_months, complete months),
-- each account's contribution shared among its holders by allocation weight
-- (int_account_holders_weighted), so an account two members hold together counts once and
-- one held with an outsider counts for the members' share only.
with households as (

    select * from {{ ref('int_customer_households') }}

),

holdings as (

    select * from {{ ref('int_customer_holdings') }}

),

account_holders as (

    select * from {{ ref('int_account_holders_weighted') }}
    where allocation_weight > 0

),

account_profitability as (

    select * from {{ ref('int_account_profitability_monthly') }}

),

as_of as (

    select * from {{ ref('int_customer_as_of') }}

),

member_balances as (

    select
        households.household_key,
        sum(coalesce(holdings.deposit_balance, 0)) as deposit_balance,
        sum(coalesce(holdings.loan_balance, 0)) as loan_balance
    from households
    left join holdings
        on households.customer_key = holdings.customer_key
    group by households.household_key

),

member_contributions as (

    select
        households.household_key,
        -- widened first: DuckDB multiplies two DECIMAL(18) values as a DECIMAL(18), whose 12
        -- decimals here (2 + the weight's 10) leave room for six digits: a contribution of a
        -- million would overflow
        sum(cast(account_profitability.contribution as decimal(38, 2)) * account_holders.allocation_weight)
            as contribution_12m
    from households
    inner join account_holders
        on households.customer_key = account_holders.customer_key
    inner join account_profitability
        on account_holders.account_id = account_profitability.account_id
    cross join as_of
    where
        account_profitability.is_complete_month
        and account_profitability.month_start >= as_of.contribution_window_start
        and account_profitability.month_start <= as_of.last_month_start
    group by households.household_key

),

final as (

    select
        member_balances.household_key,
        cast(member_balances.deposit_balance as decimal(18, 2)) as deposit_balance,
        cast(member_balances.loan_balance as decimal(18, 2)) as loan_balance,
        cast(coalesce(member_contributions.contribution_12m, 0) as decimal(18, 2)) as contribution_12m
    from member_balances
    left join member_contributions
        on member_balances.household_key = member_contributions.household_key

)

select * from final
