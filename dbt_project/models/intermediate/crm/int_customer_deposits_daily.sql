-- Every customer's deposits (balances of LIABILITY-side accounts, the customer's point of
-- view) at the end of every delivered business date: what the balance-drop rule compares.
with balances as (

    select * from {{ ref('int_account_balances_keyed') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

final as (

    select
        balances.customer_key,
        balances.business_date,
        -- DuckDB's type of the sum (Spark's sum of a decimal(18, 4) is a decimal(28, 4))
        cast(sum(balances.ledger_balance) as decimal(38, 4)) as deposit_balance
    from balances
    inner join accounts
        on balances.account_id = accounts.account_id
    where
        balances.customer_key is not null
        and accounts.balance_side = 'LIABILITY'
    group by all

)

select * from final
