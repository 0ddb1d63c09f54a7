-- Customer profitability is the sum of the accounts the customer is primary holder of
-- (fct_account_profitability_monthly by customer_key), so the two marts always add up.
-- Shared (joint) accounts count in full for their primary holder here; allocation weights
-- are used where balances are summed by customer (customer_360).
with account_profitability as (

    select * from {{ ref('fct_account_profitability_monthly') }}

),

final as (

    select
        account_profitability.month_start,
        account_profitability.customer_key,
        bool_and(account_profitability.is_complete_month) as is_complete_month,
        count(*) as n_accounts,
        cast(sum(account_profitability.avg_balance) as decimal(18, 2)) as avg_balance,
        cast(sum(account_profitability.net_interest_income) as decimal(18, 2)) as net_interest_income,
        cast(sum(account_profitability.fee_income) as decimal(18, 2)) as fee_income,
        cast(sum(account_profitability.other_income) as decimal(18, 2)) as other_income,
        cast(sum(account_profitability.operating_cost) as decimal(18, 2)) as operating_cost,
        cast(sum(account_profitability.credit_cost) as decimal(18, 2)) as credit_cost,
        cast(sum(account_profitability.contribution) as decimal(18, 2)) as contribution,
        cast(sum(account_profitability.capital_charge) as decimal(18, 2)) as capital_charge,
        cast(sum(account_profitability.economic_profit) as decimal(18, 2)) as economic_profit
    from account_profitability
    where account_profitability.customer_key is not null
    group by account_profitability.month_start, account_profitability.customer_key

)

select * from final
