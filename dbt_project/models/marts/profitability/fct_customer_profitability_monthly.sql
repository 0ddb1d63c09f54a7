-- Customer profitability: the customer's shares of the accounts they hold (PRIMARY and
-- JOINT holders share an account by its allocation weights), summed
-- (int_customer_profitability_monthly), with the customer's segment and RAROC.
with customer_profitability as (

    select * from {{ ref('int_customer_profitability_monthly') }}

),

final as (

    select
        customer_profitability.month_start,
        customer_profitability.customer_key,
        customer_profitability.is_complete_month,
        customer_profitability.n_accounts,
        customer_profitability.avg_balance,
        customer_profitability.avg_asset_balance,
        customer_profitability.avg_liability_balance,
        customer_profitability.risk_weighted_assets,
        customer_profitability.allocated_capital,
        customer_profitability.interest_income,
        customer_profitability.interest_expense,
        customer_profitability.net_interest_income,
        customer_profitability.fee_income,
        customer_profitability.other_income,
        customer_profitability.operating_cost,
        customer_profitability.credit_cost,
        customer_profitability.contribution,
        customer_profitability.capital_charge,
        customer_profitability.economic_profit,
        customer_profitability.segment,
        customer_profitability.raroc
    from customer_profitability

)

select * from final
