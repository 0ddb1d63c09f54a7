-- What every customer holds on the as-of date (int_customer_as_of): active accounts, by
-- product family, and the deposit and loan balances shared among holders by allocation
-- weight (int_account_holders_weighted: PRIMARY and JOINT equally), both positive amounts.
with account_holders as (

    select * from {{ ref('int_account_holders_weighted') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

products as (

    select * from {{ ref('int_products_current') }}

),

balances as (

    select * from {{ ref('int_account_balances_keyed') }}

),

as_of as (

    select * from {{ ref('int_customer_as_of') }}

),

customer_account_weights as (

    select
        account_holders.account_id,
        account_holders.customer_key,
        sum(account_holders.allocation_weight) as allocation_weight
    from account_holders
    where account_holders.customer_key is not null
    group by account_holders.account_id, account_holders.customer_key

),

balances_held as (

    select
        customer_account_weights.customer_key,
        count(distinct accounts.account_id) filter (
            where customer_account_weights.allocation_weight > 0 and accounts.status = 'ACTIVE'
        ) as n_active_accounts,
        sum(
            case
                when accounts.balance_side = 'LIABILITY'
                    then
                        cast(balances.ledger_balance as decimal(38, 4))
                        * customer_account_weights.allocation_weight
                else 0
            end
        ) as deposit_balance,
        sum(
            case
                when accounts.balance_side = 'ASSET'
                    then
                        -cast(balances.ledger_balance as decimal(38, 4))
                        * customer_account_weights.allocation_weight
                else 0
            end
        ) as loan_balance
    from customer_account_weights
    inner join accounts
        on customer_account_weights.account_id = accounts.account_id
    cross join as_of
    left join balances
        on
            customer_account_weights.account_id = balances.account_id
            and as_of.as_of_date = balances.business_date
    group by customer_account_weights.customer_key

),

families as (

    select
        customer_account_weights.customer_key,
        count(distinct accounts.account_id) filter (where products.product_family = 'DEPOSIT')
            as n_deposit_accounts,
        count(distinct accounts.account_id) filter (where products.product_family = 'LOAN')
            as n_loan_accounts,
        count(distinct accounts.account_id) filter (where products.product_family = 'CARD')
            as n_card_accounts,
        count(distinct accounts.account_id) filter (where products.product_family = 'INVESTMENT')
            as n_investment_accounts,
        count(distinct accounts.account_id) filter (where products.product_family = 'INSURANCE')
            as n_insurance_accounts,
        count(distinct accounts.account_id) filter (where products.product_family = 'SERVICE')
            as n_service_accounts,
        count(distinct products.product_family) as n_product_families
    from customer_account_weights
    inner join accounts
        on customer_account_weights.account_id = accounts.account_id
    inner join products
        on accounts.product_code = products.product_code
    where customer_account_weights.allocation_weight > 0 and accounts.status = 'ACTIVE'
    group by customer_account_weights.customer_key

),

final as (

    select
        balances_held.customer_key,
        balances_held.n_active_accounts,
        balances_held.deposit_balance,
        balances_held.loan_balance,
        coalesce(families.n_deposit_accounts, 0) as n_deposit_accounts,
        coalesce(families.n_loan_accounts, 0) as n_loan_accounts,
        coalesce(families.n_card_accounts, 0) as n_card_accounts,
        coalesce(families.n_investment_accounts, 0) as n_investment_accounts,
        coalesce(families.n_insurance_accounts, 0) as n_insurance_accounts,
        coalesce(families.n_service_accounts, 0) as n_service_accounts,
        coalesce(families.n_product_families, 0) as n_product_families
    from balances_held
    left join families
        on balances_held.customer_key = families.customer_key

)

select * from final
