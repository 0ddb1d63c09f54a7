-- First-cut monthly profitability of every account (income and cost both positive):
--   net_interest_income  from int_account_interest_monthly (FTP margin on the daily balance)
--   fee_income           FEE postings not reversed
--   other_income         card interchange imputed on CARD_PURCHASE postings not reversed
--   operating_cost       postings x unit cost by channel + allocated call minutes and web
--                        sessions + product family maintenance (pro rata of days on book)
--   credit_cost          change of the month-end required loan-loss provision
--   capital_charge       avg asset balance x risk weight x capital ratio x cost of equity / 12
--                        (pro rata of days on book)
--   contribution         = nii + fee_income + other_income - operating_cost - credit_cost
--   economic_profit      = contribution - capital_charge
-- Every component is rounded to the cent before contribution is formed, so the identities
-- hold exactly. Assumptions are in the seeds.
with accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

interest as (

    select * from {{ ref('int_account_interest_monthly') }}

),

postings as (

    select * from {{ ref('int_account_postings_monthly') }}

),

provisions as (

    select * from {{ ref('int_account_provisions_monthly') }}

),

service_costs as (

    select * from {{ ref('int_account_service_costs_monthly') }}

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

maintenance_costs as (

    select * from {{ ref('maintenance_costs_by_product_family') }}

),

risk_weights as (

    select * from {{ ref('risk_weights') }}

),

account_months as (

    select
        interest.account_id,
        interest.month_start
    from interest
    union
    select
        postings.account_id,
        postings.month_start
    from postings
    union
    select
        provisions.account_id,
        provisions.month_start
    from provisions

),

data_coverage as (

    select
        min(interest.first_balance_date) as first_balance_date,
        max(interest.last_balance_date) as last_balance_date
    from interest

),

joined as (

    select
        account_months.month_start,
        account_months.account_id,
        accounts.customer_key,
        accounts.product_code,
        accounts.product_family,
        accounts.balance_side,
        cast(day(last_day(account_months.month_start)) as integer) as days_in_month,
        coalesce(interest.n_days_on_book, 0) as n_days_on_book,
        coalesce(interest.avg_balance, 0) as avg_balance,
        coalesce(interest.net_interest_income, 0) as net_interest_income,
        coalesce(postings.n_postings, 0) as n_postings,
        coalesce(postings.fee_income, 0) as fee_income,
        coalesce(postings.card_purchase_amount, 0) as card_purchase_amount,
        coalesce(postings.posting_cost, 0) as posting_cost,
        coalesce(service_costs.call_cost, 0) + coalesce(service_costs.session_cost, 0) as service_cost,
        coalesce(maintenance_costs.monthly_cost, 0) as maintenance_cost_full_month,
        provisions.required_provision,
        coalesce(provisions.credit_cost, 0) as credit_cost,
        coalesce(
            risk_weights.risk_weight,
            case when accounts.balance_side = 'ASSET' then 1 else 0 end
        ) as risk_weight,
        assumptions.card_interchange_rate,
        assumptions.capital_ratio,
        assumptions.cost_of_equity,
        coalesce(
            account_months.month_start >= data_coverage.first_balance_date
            and last_day(account_months.month_start) <= data_coverage.last_balance_date,
            false
        ) as is_complete_month
    from account_months
    left join accounts
        on account_months.account_id = accounts.account_id
    left join interest
        on
            account_months.account_id = interest.account_id
            and account_months.month_start = interest.month_start
    left join postings
        on
            account_months.account_id = postings.account_id
            and account_months.month_start = postings.month_start
    left join provisions
        on
            account_months.account_id = provisions.account_id
            and account_months.month_start = provisions.month_start
    left join service_costs
        on
            account_months.account_id = service_costs.account_id
            and account_months.month_start = service_costs.month_start
    left join maintenance_costs
        on accounts.product_family = maintenance_costs.product_family
    left join risk_weights
        on accounts.product_type = risk_weights.product_type
    cross join assumptions
    cross join data_coverage

),

components as (

    select
        joined.month_start,
        joined.account_id,
        joined.customer_key,
        joined.product_code,
        joined.product_family,
        joined.balance_side,
        joined.is_complete_month,
        joined.n_days_on_book,
        joined.n_postings,
        cast(joined.avg_balance as decimal(18, 2)) as avg_balance,
        cast(
            case
                when joined.balance_side = 'ASSET'
                    then cast(joined.avg_balance as decimal(38, 4)) * joined.risk_weight
                else 0
            end as decimal(18, 2)
        ) as risk_weighted_assets,
        cast(joined.required_provision as decimal(18, 2)) as required_provision,
        cast(joined.net_interest_income as decimal(18, 2)) as net_interest_income,
        cast(joined.fee_income as decimal(18, 2)) as fee_income,
        cast(
            cast(joined.card_purchase_amount as decimal(38, 4)) * joined.card_interchange_rate
            as decimal(18, 2)
        ) as other_income,
        cast(
            joined.posting_cost
            + joined.service_cost
            + cast(joined.maintenance_cost_full_month as decimal(38, 4))
            * joined.n_days_on_book / joined.days_in_month
            as decimal(18, 2)
        ) as operating_cost,
        cast(joined.credit_cost as decimal(18, 2)) as credit_cost,
        cast(
            case
                when joined.balance_side = 'ASSET'
                    then
                        cast(joined.avg_balance as decimal(38, 4))
                        * cast(
                            joined.risk_weight * joined.capital_ratio * joined.cost_of_equity
                            as decimal(38, 12)
                        )
                        / 12 * joined.n_days_on_book / joined.days_in_month
                else 0
            end as decimal(18, 2)
        ) as capital_charge
    from joined

),

final as (

    select
        components.month_start,
        components.account_id,
        components.customer_key,
        components.product_code,
        components.product_family,
        components.balance_side,
        components.is_complete_month,
        components.n_days_on_book,
        components.n_postings,
        components.avg_balance,
        components.risk_weighted_assets,
        components.required_provision,
        components.net_interest_income,
        components.fee_income,
        components.other_income,
        components.operating_cost,
        components.credit_cost,
        components.net_interest_income
        + components.fee_income
        + components.other_income
        - components.operating_cost
        - components.credit_cost as contribution,
        components.capital_charge,
        components.net_interest_income
        + components.fee_income
        + components.other_income
        - components.operating_cost
        - components.credit_cost
        - components.capital_charge as economic_profit
    from components

)

select * from final
