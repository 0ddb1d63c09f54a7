-- A failure means customer profitability does not share the accounts the way the bridge
-- says, or does not add up to the accounts: a joint account's income or cost is counted
-- twice, lost, or given to a holder in another proportion than customer_360 gives its
-- balance, so the customer and segment views would not tie to the account view.
--   per account and month: the holders' shares add up to the account's figures, exactly;
--   per holder: a share is the holder's allocation weight (bridge_account_customer) of the
--   account's contribution, within the cent of each of its five rounded components;
--   per month: fct_customer_profitability_monthly adds up to fct_account_profitability_monthly.
with account_profitability as (

    select * from {{ ref('fct_account_profitability_monthly') }}

),

customer_profitability as (

    select * from {{ ref('fct_customer_profitability_monthly') }}

),

shares as (

    select * from {{ ref('int_account_profitability_shared_monthly') }}

),

bridge as (

    select * from {{ ref('bridge_account_customer') }}

),

account_totals as (

    select
        shares.month_start,
        shares.account_id,
        sum(shares.avg_balance) as avg_balance,
        sum(shares.net_interest_income) as net_interest_income,
        sum(shares.operating_cost) as operating_cost,
        sum(shares.contribution) as contribution,
        sum(shares.economic_profit) as economic_profit
    from shares
    group by shares.month_start, shares.account_id

),

accounts_not_adding_up as (

    select
        'account shares' as check_name,
        account_profitability.month_start,
        account_profitability.account_id as subject,
        account_profitability.contribution as expected,
        account_totals.contribution as reported
    from account_profitability
    left join account_totals
        on
            account_profitability.month_start = account_totals.month_start
            and account_profitability.account_id = account_totals.account_id
    where
        account_totals.account_id is null
        or account_totals.avg_balance != account_profitability.avg_balance
        or account_totals.net_interest_income != account_profitability.net_interest_income
        or account_totals.operating_cost != account_profitability.operating_cost
        or account_totals.contribution != account_profitability.contribution
        or account_totals.economic_profit != account_profitability.economic_profit

),

shares_off_their_weight as (

    select
        'holder weight' as check_name,
        shares.month_start,
        shares.account_id || ' / ' || shares.customer_key as subject,
        -- widened: two DECIMAL(18) multiply as a DECIMAL(18), which overflows at a million here
        bridge.allocation_weight * cast(account_profitability.contribution as decimal(38, 2)) as expected,
        shares.contribution as reported
    from shares
    inner join account_profitability
        on
            shares.month_start = account_profitability.month_start
            and shares.account_id = account_profitability.account_id
    inner join bridge
        on
            shares.account_id = bridge.account_id
            and shares.customer_key = bridge.customer_key
    where
        shares.customer_key != account_profitability.customer_key
        and abs(
            shares.contribution
            - bridge.allocation_weight * cast(account_profitability.contribution as decimal(38, 2))
        ) > 0.025

),

account_months as (

    select
        account_profitability.month_start,
        sum(account_profitability.contribution) as contribution
    from account_profitability
    group by account_profitability.month_start

),

customer_months as (

    select
        customer_profitability.month_start,
        sum(customer_profitability.contribution) as contribution
    from customer_profitability
    group by customer_profitability.month_start

),

months_not_adding_up as (

    select
        'customers to accounts' as check_name,
        account_months.month_start,
        'month' as subject,
        account_months.contribution as expected,
        customer_months.contribution as reported
    from account_months
    left join customer_months
        on account_months.month_start = customer_months.month_start
    where customer_months.contribution is distinct from account_months.contribution

)

select * from accounts_not_adding_up
union all
select * from shares_off_their_weight
union all
select * from months_not_adding_up
