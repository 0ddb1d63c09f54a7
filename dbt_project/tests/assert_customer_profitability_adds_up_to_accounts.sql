-- A failure means customer-level profitability no longer equals the sum of the accounts
-- the customers hold as primary holder: a customer's economic profit would disagree with
-- the account view that relationship managers and finance reconcile against.
with accounts as (

    select
        account_profitability.month_start,
        sum(account_profitability.contribution) as contribution,
        sum(account_profitability.economic_profit) as economic_profit
    from {{ ref('fct_account_profitability_monthly') }} as account_profitability
    group by account_profitability.month_start

),

customers as (

    select
        customer_profitability.month_start,
        sum(customer_profitability.contribution) as contribution,
        sum(customer_profitability.economic_profit) as economic_profit
    from {{ ref('fct_customer_profitability_monthly') }} as customer_profitability
    group by customer_profitability.month_start

)

select
    coalesce(accounts.month_start, customers.month_start) as month_start,
    accounts.contribution as account_contribution,
    customers.contribution as customer_contribution,
    accounts.economic_profit as account_economic_profit,
    customers.economic_profit as customer_economic_profit
from accounts
full outer join customers
    on accounts.month_start = customers.month_start
where
    accounts.contribution is distinct from customers.contribution
    or accounts.economic_profit is distinct from customers.economic_profit
