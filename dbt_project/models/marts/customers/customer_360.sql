-- One row per unified customer: dim_customer plus what the customer holds and does, as of
-- the latest business date of the core balances (never now(), so a rebuild of the same data
-- gives the same answer). Assembled from the other marts so that its numbers are the ones
-- the facts show. Balances are shared among holders by allocation weights (PRIMARY and
-- JOINT equally, bridge_account_customer); deposit_balance and loan_balance are positive amounts.
-- What a relationship manager looks at first follows: active accounts by product family,
-- tenure, channel mix over 30 and 90 days (customer-initiated postings by channel, web
-- sessions, calls; the windows are in the column names), last contact, open complaints
-- (complaint calls of the last 90 days not RESOLVED: the call centre feed carries no case
-- closure) and satisfaction (post-call survey scores of the last 90 days).
with customers as (

    select * from {{ ref('dim_customer') }}

),

accounts as (

    select * from {{ ref('dim_account') }}

),

balances as (

    select * from {{ ref('fct_account_balance_daily') }}

),

allocation_weights as (

    select * from {{ ref('bridge_account_customer') }}

),

products as (

    select * from {{ ref('dim_product') }}

),

transactions as (

    select * from {{ ref('fct_transactions') }}

),

households as (

    select * from {{ ref('int_customer_households') }}

),

customer_profitability as (

    select * from {{ ref('fct_customer_profitability_monthly') }}

),

web_sessions as (

    select * from {{ ref('fct_web_sessions') }}

),

calls as (

    select * from {{ ref('fct_calls') }}

),

as_of as (

    select
        max(balances.business_date) as as_of_date,
        -- the last complete month, and the first month of the contribution window
        cast(date_trunc('month', max(balances.business_date)) - interval 1 month as date) as last_month_start,
        cast(
            date_trunc('month', max(balances.business_date))
            - to_months({{ var('contribution_window_months') }}) as date
        ) as contribution_window_start
    from balances

),

customer_account_weights as (

    select
        allocation_weights.account_id,
        allocation_weights.customer_key,
        sum(allocation_weights.allocation_weight) as allocation_weight
    from allocation_weights
    where allocation_weights.customer_key is not null
    group by allocation_weights.account_id, allocation_weights.customer_key

),

holdings as (

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

channel_postings as (

    select
        transactions.customer_key,
        count(*) filter (
            where transactions.channel = 'BRANCH' and transactions.posting_date > as_of.as_of_date - 30
        )
            as branch_txns_30d,
        count(*) filter (where transactions.channel = 'BRANCH') as branch_txns_90d,
        count(*) filter (
            where transactions.channel = 'ATM' and transactions.posting_date > as_of.as_of_date - 30
        )
            as atm_txns_30d,
        count(*) filter (where transactions.channel = 'ATM') as atm_txns_90d,
        count(*) filter (
            where transactions.channel in ('ONLINE', 'MOBILE')
            and transactions.posting_date > as_of.as_of_date - 30
        ) as digital_txns_30d,
        count(*) filter (where transactions.channel in ('ONLINE', 'MOBILE')) as digital_txns_90d,
        count(*) filter (
            where transactions.channel = 'POS' and transactions.posting_date > as_of.as_of_date - 30
        )
            as pos_txns_30d,
        count(*) filter (where transactions.channel = 'POS') as pos_txns_90d
    from transactions
    cross join as_of
    where
        transactions.customer_key is not null
        and not transactions.is_reversal
        and transactions.posting_date > as_of.as_of_date - 90
        and transactions.posting_date <= as_of.as_of_date
    group by transactions.customer_key

),

web_contact as (

    select
        web_sessions.customer_key,
        count(*) filter (where web_sessions.session_date > as_of.as_of_date - 90) as web_sessions_90d,
        max(web_sessions.session_date) as last_web_session_date
    from web_sessions
    cross join as_of
    where web_sessions.customer_key is not null and web_sessions.session_date <= as_of.as_of_date
    group by web_sessions.customer_key

),

call_contact as (

    select
        calls.customer_key,
        count(*) filter (where calls.call_date > as_of.as_of_date - 30) as calls_30d,
        max(calls.call_date) as last_call_date,
        count(*) filter (
            where
            calls.complaint_flag
            and calls.outcome <> 'RESOLVED'
            and calls.call_date > as_of.as_of_date - 90
        ) as open_complaints,
        avg(calls.csat_score) filter (where calls.call_date > as_of.as_of_date - 90) as avg_csat_90d,
        count(calls.csat_score) filter (where calls.call_date > as_of.as_of_date - 90) as n_csat_responses_90d
    from calls
    cross join as_of
    where calls.customer_key is not null and calls.call_date <= as_of.as_of_date
    group by calls.customer_key

),

months_in_window as (

    select
        customer_profitability.customer_key,
        customer_profitability.contribution,
        customer_profitability.month_start = as_of.last_month_start as is_last_month
    from customer_profitability
    cross join as_of
    where
        customer_profitability.is_complete_month
        and customer_profitability.month_start >= as_of.contribution_window_start
        and customer_profitability.month_start <= as_of.last_month_start

),

contributions as (

    select
        months_in_window.customer_key,
        sum(months_in_window.contribution) filter (where months_in_window.is_last_month)
            as contribution_last_month,
        sum(months_in_window.contribution) as contribution_12m
    from months_in_window
    group by months_in_window.customer_key

),

web_activity as (

    select
        web_sessions.customer_key,
        count(*) as web_sessions_30d
    from web_sessions
    cross join as_of
    where
        web_sessions.customer_key is not null
        and web_sessions.session_date > as_of.as_of_date - {{ var('web_sessions_window_days') }}
        and web_sessions.session_date <= as_of.as_of_date
    group by web_sessions.customer_key

),

call_activity as (

    select
        calls.customer_key,
        count(*) as calls_90d,
        count(*) filter (where calls.complaint_flag) as complaints_90d
    from calls
    cross join as_of
    where
        calls.customer_key is not null
        and calls.call_date > as_of.as_of_date - {{ var('calls_window_days') }}
        and calls.call_date <= as_of.as_of_date
    group by calls.customer_key

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
        cast(coalesce(contributions.contribution_12m, 0) as decimal(18, 2)) as contribution_12m,
        coalesce(web_activity.web_sessions_30d, 0) as web_sessions_30d,
        coalesce(call_activity.calls_90d, 0) as calls_90d,
        coalesce(call_activity.complaints_90d, 0) as complaints_90d,
        households.household_key,
        coalesce(families.n_deposit_accounts, 0) as n_deposit_accounts,
        coalesce(families.n_loan_accounts, 0) as n_loan_accounts,
        coalesce(families.n_card_accounts, 0) as n_card_accounts,
        coalesce(families.n_investment_accounts, 0) as n_investment_accounts,
        coalesce(families.n_insurance_accounts, 0) as n_insurance_accounts,
        coalesce(families.n_service_accounts, 0) as n_service_accounts,
        coalesce(families.n_product_families, 0) as n_product_families,
        cast(date_diff('month', customers.onboarding_date, as_of.as_of_date) as bigint) as tenure_months,
        coalesce(channel_postings.branch_txns_30d, 0) as branch_txns_30d,
        coalesce(channel_postings.branch_txns_90d, 0) as branch_txns_90d,
        coalesce(channel_postings.atm_txns_30d, 0) as atm_txns_30d,
        coalesce(channel_postings.atm_txns_90d, 0) as atm_txns_90d,
        coalesce(channel_postings.digital_txns_30d, 0) as digital_txns_30d,
        coalesce(channel_postings.digital_txns_90d, 0) as digital_txns_90d,
        coalesce(channel_postings.pos_txns_30d, 0) as pos_txns_30d,
        coalesce(channel_postings.pos_txns_90d, 0) as pos_txns_90d,
        coalesce(web_contact.web_sessions_90d, 0) as web_sessions_90d,
        coalesce(call_contact.calls_30d, 0) as calls_30d,
        web_contact.last_web_session_date,
        call_contact.last_call_date,
        greatest(web_contact.last_web_session_date, call_contact.last_call_date) as last_contact_date,
        coalesce(call_contact.open_complaints, 0) as open_complaints,
        cast(call_contact.avg_csat_90d as decimal(4, 2)) as avg_csat_90d,
        coalesce(call_contact.n_csat_responses_90d, 0) as n_csat_responses_90d
    from customers
    cross join as_of
    left join holdings
        on customers.customer_key = holdings.customer_key
    left join contributions
        on customers.customer_key = contributions.customer_key
    left join web_activity
        on customers.customer_key = web_activity.customer_key
    left join call_activity
        on customers.customer_key = call_activity.customer_key
    left join households
        on customers.customer_key = households.customer_key
    left join families
        on customers.customer_key = families.customer_key
    left join channel_postings
        on customers.customer_key = channel_postings.customer_key
    left join web_contact
        on customers.customer_key = web_contact.customer_key
    left join call_contact
        on customers.customer_key = call_contact.customer_key

)

select * from final
