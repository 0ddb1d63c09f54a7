-- One row per unified customer: the customer's current version plus what the customer
-- holds and does, as of the latest business date of the core balances (int_customer_as_of).
-- Every figure comes from an intermediate model computed once: holdings and balances shared
-- among holders by allocation weight (int_customer_holdings), contribution
-- (int_customer_contributions), postings by channel, web sessions and calls
-- (int_customer_activity_*), the value tier, class and RFM segment of the as-of month
-- (int_customer_value_monthly, int_customer_rfm_monthly), tonight's churn score and its top
-- reason (int_churn_scores; null when no churn model is trained), tonight's lifetime value
-- (int_clv_scores; null when no lifetime value model is trained), what the customers feed says of work
-- and income (int_customer_attributes) and credit risk (int_customer_credit_risk). Every window
-- is a dbt var (dbt_project.yml); the column names say the default.
with customers as (

    select * from {{ ref('int_customer_versions') }}
    where is_current

),

as_of as (

    select * from {{ ref('int_customer_as_of') }}

),

holdings as (

    select * from {{ ref('int_customer_holdings') }}

),

contributions as (

    select * from {{ ref('int_customer_contributions') }}

),

postings as (

    select * from {{ ref('int_customer_activity_postings') }}

),

web as (

    select * from {{ ref('int_customer_activity_web') }}

),

calls as (

    select * from {{ ref('int_customer_activity_calls') }}

),

households as (

    select * from {{ ref('int_customer_households') }}

),

customer_value as (

    select * from {{ ref('int_customer_value_monthly') }}

),

rfm as (

    select * from {{ ref('int_customer_rfm_monthly') }}

),

attributes as (

    select * from {{ ref('int_customer_attributes') }}

),

credit_risk as (

    select * from {{ ref('int_customer_credit_risk') }}

),

churn_scores as (

    select * from {{ ref('int_churn_scores') }}

),

clv_scores as (

    select * from {{ ref('int_clv_scores') }}

),

final as (

    select
        customers.customer_key,
        customers.customer_type,
        customers.full_name,
        customers.birth_date,
        customers.gender,
        customers.city,
        customers.region,
        customers.home_branch_id,
        customers.rm_id,
        customers.kyc_risk_rating,
        customers.onboarding_date,
        customers.status,
        customers.n_source_records,
        as_of.as_of_date,
        coalesce(holdings.n_active_accounts, 0) as n_active_accounts,
        cast(coalesce(holdings.deposit_balance, 0) as decimal(18, 2)) as deposit_balance,
        cast(coalesce(holdings.loan_balance, 0) as decimal(18, 2)) as loan_balance,
        cast(coalesce(contributions.contribution_last_month, 0) as decimal(18, 2)) as contribution_last_month,
        cast(coalesce(contributions.contribution_in_window, 0) as decimal(18, 2)) as contribution_12m,
        coalesce(web.web_sessions_short_window, 0) as web_sessions_30d,
        coalesce(calls.calls_in_window, 0) as calls_90d,
        coalesce(calls.complaints_in_window, 0) as complaints_90d,
        households.household_key,
        coalesce(holdings.n_deposit_accounts, 0) as n_deposit_accounts,
        coalesce(holdings.n_loan_accounts, 0) as n_loan_accounts,
        coalesce(holdings.n_card_accounts, 0) as n_card_accounts,
        coalesce(holdings.n_investment_accounts, 0) as n_investment_accounts,
        coalesce(holdings.n_insurance_accounts, 0) as n_insurance_accounts,
        coalesce(holdings.n_service_accounts, 0) as n_service_accounts,
        coalesce(holdings.n_product_families, 0) as n_product_families,
        {{ months_crossed('customers.onboarding_date', 'as_of.as_of_date') }} as tenure_months,
        coalesce(postings.branch_txns_short_window, 0) as branch_txns_30d,
        coalesce(postings.branch_txns_long_window, 0) as branch_txns_90d,
        coalesce(postings.atm_txns_short_window, 0) as atm_txns_30d,
        coalesce(postings.atm_txns_long_window, 0) as atm_txns_90d,
        coalesce(postings.digital_txns_short_window, 0) as digital_txns_30d,
        coalesce(postings.digital_txns_long_window, 0) as digital_txns_90d,
        coalesce(postings.pos_txns_short_window, 0) as pos_txns_30d,
        coalesce(postings.pos_txns_long_window, 0) as pos_txns_90d,
        coalesce(web.web_sessions_long_window, 0) as web_sessions_90d,
        coalesce(calls.calls_short_window, 0) as calls_30d,
        web.last_web_session_date,
        calls.last_call_date,
        greatest(web.last_web_session_date, calls.last_call_date) as last_contact_date,
        coalesce(calls.open_complaints, 0) as open_complaints,
        cast(calls.avg_csat as decimal(4, 2)) as avg_csat_90d,
        coalesce(calls.n_csat_responses, 0) as n_csat_responses_90d,
        customer_value.value_tier,
        customer_value.value_class,
        rfm.rfm_segment,
        attributes.industry_code,
        attributes.occupation,
        attributes.annual_income_band,
        credit_risk.worst_loan_classification,
        coalesce(credit_risk.is_non_performing, false) as is_non_performing,
        cast(coalesce(credit_risk.total_exposure, 0) as decimal(18, 2)) as total_exposure,
        cast(churn_scores.churn_probability as decimal(5, 4)) as churn_probability,
        churn_scores.risk_band as churn_risk_band,
        churn_scores.reason_1 as churn_top_reason,
        cast(clv_scores.clv as decimal(18, 2)) as clv
    from customers
    cross join as_of
    left join holdings
        on customers.customer_key = holdings.customer_key
    left join contributions
        on customers.customer_key = contributions.customer_key
    left join postings
        on customers.customer_key = postings.customer_key
    left join web
        on customers.customer_key = web.customer_key
    left join calls
        on customers.customer_key = calls.customer_key
    left join households
        on customers.customer_key = households.customer_key
    left join customer_value
        on
            customers.customer_key = customer_value.customer_key
            and customer_value.month_start = date_trunc('month', as_of.as_of_date)
    left join rfm
        on
            customers.customer_key = rfm.customer_key
            and rfm.month_start = date_trunc('month', as_of.as_of_date)
    left join attributes
        on customers.customer_key = attributes.customer_key
    left join credit_risk
        on customers.customer_key = credit_risk.customer_key
    left join churn_scores
        on customers.customer_key = churn_scores.customer_key
    left join clv_scores
        on customers.customer_key = clv_scores.customer_key

)

select * from final
