-- Monthly profitability of every account (income and cost both positive; the method and
-- its components are in int_account_profitability_monthly and docs/profitability.md).
-- contribution = nii + fee_income + other_income - operating_cost - credit_cost;
-- economic_profit = contribution - capital_charge; every component rounded to the cent.
with account_profitability as (

    select * from {{ ref('int_account_profitability_monthly') }}

),

final as (

    select
        account_profitability.month_start,
        account_profitability.account_id,
        account_profitability.customer_key,
        account_profitability.product_code,
        account_profitability.product_family,
        account_profitability.product_type,
        account_profitability.balance_side,
        account_profitability.branch_id,
        account_profitability.rm_id,
        account_profitability.is_complete_month,
        account_profitability.n_days_on_book,
        account_profitability.n_postings,
        account_profitability.avg_balance,
        account_profitability.customer_rate_pct,
        account_profitability.ftp_rate_pct,
        account_profitability.risk_weighted_assets,
        account_profitability.allocated_capital,
        account_profitability.interest_income,
        account_profitability.interest_expense,
        account_profitability.required_provision,
        account_profitability.write_off,
        account_profitability.net_interest_income,
        account_profitability.fee_income,
        account_profitability.other_income,
        account_profitability.posting_cost,
        account_profitability.service_cost,
        account_profitability.maintenance_cost,
        account_profitability.operating_cost,
        account_profitability.credit_cost,
        account_profitability.contribution,
        account_profitability.capital_charge,
        account_profitability.economic_profit
    from account_profitability

)

select * from final
