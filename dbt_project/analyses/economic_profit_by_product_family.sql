-- Economic profit by product family and month: a starting point for analysts
-- (`dbt compile -s economic_profit_by_product_family`, then run the compiled SQL).
with account_profitability as (

    select * from {{ ref('fct_account_profitability_monthly') }}

),

by_family as (

    select
        account_profitability.month_start,
        account_profitability.product_family,
        count(*) as n_accounts,
        sum(account_profitability.net_interest_income) as net_interest_income,
        sum(account_profitability.fee_income) as fee_income,
        sum(account_profitability.other_income) as other_income,
        sum(account_profitability.operating_cost) as operating_cost,
        sum(account_profitability.credit_cost) as credit_cost,
        sum(account_profitability.capital_charge) as capital_charge,
        sum(account_profitability.economic_profit) as economic_profit
    from account_profitability
    group by account_profitability.month_start, account_profitability.product_family

),

ordered as (

    select
        by_family.*,
        row_number() over (
            partition by by_family.month_start order by by_family.economic_profit desc
        ) as rank_in_month
    from by_family

)

select * from ordered
