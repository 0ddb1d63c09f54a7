-- A failure means the deposits and loans that customer_360 shares out among customers do
-- not add up to the balance sheet on the as-of date: allocation weights lost or invented
-- money, so customer-level deposit and lending figures would not tie to the ledger.
-- Allowed difference: half a cent per customer (each customer's share is rounded).
with customers as (

    select * from {{ ref('customer_360') }}

),

balances as (

    select * from {{ ref('fct_account_balance_daily') }}

),

accounts as (

    select * from {{ ref('dim_account') }}

),

allocated as (

    select
        sum(customers.deposit_balance) as deposit_balance,
        sum(customers.loan_balance) as loan_balance,
        count(*) * 0.005 as tolerance,
        max(customers.as_of_date) as as_of_date
    from customers

),

ledger as (

    select
        coalesce(sum(balances.ledger_balance) filter (where accounts.balance_side = 'LIABILITY'), 0)
            as deposit_balance,
        coalesce(-sum(balances.ledger_balance) filter (where accounts.balance_side = 'ASSET'), 0)
            as loan_balance
    from balances
    inner join accounts
        on balances.account_id = accounts.account_id
    inner join allocated
        on balances.business_date = allocated.as_of_date

)

select
    allocated.as_of_date,
    allocated.deposit_balance as allocated_deposits,
    ledger.deposit_balance as ledger_deposits,
    allocated.loan_balance as allocated_loans,
    ledger.loan_balance as ledger_loans
from allocated
cross join ledger
where
    abs(coalesce(allocated.deposit_balance, 0) - ledger.deposit_balance) > allocated.tolerance
    or abs(coalesce(allocated.loan_balance, 0) - ledger.loan_balance) > allocated.tolerance
