-- Monthly profitability of every account (income and cost both positive):
--   net_interest_income  FTP margin on the daily balance (int_account_interest_monthly:
--                        curve, matched maturity or behavioural strips, day count)
--   interest_income,     the customer's own interest on assets / on liabilities (balance x
--   interest_expense     customer rate), what the ledger books; not part of contribution
--   fee_income           FEE postings not reversed (to the cent of the ledger)
--   other_income         card interchange imputed on CARD_PURCHASE postings not reversed
--   operating_cost       posting_cost (postings x unit cost of their channel)
--                        + service_cost (the primary holder's call minutes and web sessions,
--                          split over their accounts by balance share) + maintenance_cost (product family's
--                        monthly cost, pro rata of days on book)
--   credit_cost          change of the required loan-loss provision + write-offs
--   capital_charge       allocated_capital (risk-weighted assets x capital ratio) x cost of
--                        equity / 12, pro rata of days on book
--   contribution         = nii + fee_income + other_income - operating_cost - credit_cost
--   economic_profit      = contribution - capital_charge
-- Every component is rounded to the cent before contribution is formed, so the identities
-- hold exactly. Assumptions are in the seeds (docs/profitability.md).
-- The account mart and every roll-up (customer, product, branch, RM, segment, bank) read
-- this model, so they add up the same figures.
with accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

customers as (

    select * from {{ ref('int_customer_versions') }}
    where is_current

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
        accounts.product_type,
        accounts.balance_side,
        accounts.branch_id,
        -- the account's own RM overrides the customer's
        coalesce(accounts.rm_id, customers.rm_id) as rm_id,
        cast(day(last_day(account_months.month_start)) as integer) as days_in_month,
        coalesce(interest.n_days_on_book, 0) as n_days_on_book,
        coalesce(interest.avg_balance, 0) as avg_balance,
        interest.customer_rate_pct,
        interest.ftp_rate_pct,
        coalesce(interest.net_interest_income, 0) as net_interest_income,
        case when accounts.balance_side = 'ASSET' then coalesce(interest.customer_interest, 0) else 0 end
            as interest_income,
        case when accounts.balance_side = 'LIABILITY' then coalesce(interest.customer_interest, 0) else 0 end
            as interest_expense,
        coalesce(postings.n_postings, 0) as n_postings,
        coalesce(postings.fee_income, 0) as fee_income,
        coalesce(postings.card_purchase_amount, 0) as card_purchase_amount,
        coalesce(postings.posting_cost, 0) as posting_cost,
        coalesce(service_costs.call_cost, 0) + coalesce(service_costs.session_cost, 0) as service_cost,
        coalesce(maintenance_costs.monthly_cost, 0) as maintenance_cost_full_month,
        provisions.required_provision,
        coalesce(provisions.write_off, 0) as write_off,
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
    left join customers
        on accounts.customer_key = customers.customer_key
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
        joined.*,
        cast(
            case
                when joined.balance_side = 'ASSET'
                    then cast(joined.avg_balance as decimal(38, 4)) * joined.risk_weight
                else 0
            end as decimal(18, 2)
        ) as risk_weighted_assets,
        cast(
            cast(joined.card_purchase_amount as decimal(38, 4)) * joined.card_interchange_rate
            as decimal(18, 2)
        ) as other_income,
        cast(joined.posting_cost as decimal(18, 2)) as posting_cost_cents,
        cast(joined.service_cost as decimal(18, 2)) as service_cost_cents,
        cast(
            cast(joined.maintenance_cost_full_month as decimal(38, 4))
            * joined.n_days_on_book / joined.days_in_month
            as decimal(18, 2)
        ) as maintenance_cost
    from joined

),

capital as (

    select
        components.*,
        cast(
            components.risk_weighted_assets * components.capital_ratio as decimal(18, 2)
        ) as allocated_capital
    from components

),

final as (

    select
        capital.month_start,
        capital.account_id,
        capital.customer_key,
        capital.product_code,
        capital.product_family,
        capital.product_type,
        capital.balance_side,
        capital.branch_id,
        capital.rm_id,
        capital.is_complete_month,
        capital.n_days_on_book,
        capital.n_postings,
        cast(capital.avg_balance as decimal(18, 2)) as avg_balance,
        capital.customer_rate_pct,
        capital.ftp_rate_pct,
        capital.risk_weighted_assets,
        capital.allocated_capital,
        cast(capital.required_provision as decimal(18, 2)) as required_provision,
        cast(capital.write_off as decimal(18, 2)) as write_off,
        cast(capital.interest_income as decimal(18, 2)) as interest_income,
        cast(capital.interest_expense as decimal(18, 2)) as interest_expense,
        cast(capital.net_interest_income as decimal(18, 2)) as net_interest_income,
        cast(capital.fee_income as decimal(18, 2)) as fee_income,
        capital.other_income,
        capital.posting_cost_cents as posting_cost,
        capital.service_cost_cents as service_cost,
        capital.maintenance_cost,
        cast(
            capital.posting_cost_cents
            + capital.service_cost_cents
            + capital.maintenance_cost
            as decimal(18, 2)
        ) as operating_cost,
        cast(capital.credit_cost as decimal(18, 2)) as credit_cost,
        cast(
            cast(capital.net_interest_income as decimal(18, 2))
            + cast(capital.fee_income as decimal(18, 2))
            + capital.other_income
            - (capital.posting_cost_cents + capital.service_cost_cents + capital.maintenance_cost)
            - cast(capital.credit_cost as decimal(18, 2))
            as decimal(18, 2)
        ) as contribution,
        cast(
            capital.allocated_capital * capital.cost_of_equity
            / 12 * capital.n_days_on_book / capital.days_in_month
            as decimal(18, 2)
        ) as capital_charge
    from capital

)

select
    final.*,
    cast(final.contribution - final.capital_charge as decimal(18, 2)) as economic_profit
from final
