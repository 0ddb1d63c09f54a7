-- What every customer did in every month: customer-initiated postings on the accounts the
-- customer is primary holder of (int_account_activity_monthly) and online-banking sessions of
-- the customer's web users (int_web_user_activity_monthly), the last day of either, whether a
-- salary was credited, and transfers to other banks: money the customer keeps elsewhere.
-- Both inputs are incremental by month and kept by account and user; this table maps them to
-- today's customer keys (accounts' primary holder, the users' resolution).
with account_activity as (

    select * from {{ ref('int_account_activity_monthly') }}

),

user_activity as (

    select * from {{ ref('int_web_user_activity_monthly') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

customer_xref as (

    select * from {{ ref('int_customer_xref') }}
    where source_table = 'users' and customer_key is not null

),

postings_monthly as (

    select
        accounts.customer_key,
        account_activity.month_start,
        sum(account_activity.n_postings) as n_postings,
        max(account_activity.last_posting_date) as last_posting_date,
        bool_or(account_activity.is_salary_credited) as is_salary_credited,
        sum(account_activity.outflow_elsewhere) as outflow_elsewhere
    from account_activity
    inner join accounts
        on account_activity.account_id = accounts.account_id
    where accounts.customer_key is not null
    group by all

),

sessions_monthly as (

    select
        customer_xref.customer_key,
        user_activity.month_start,
        sum(user_activity.n_web_sessions) as n_web_sessions,
        max(user_activity.last_session_date) as last_session_date
    from user_activity
    inner join customer_xref
        on user_activity.user_id = customer_xref.source_key
    group by all

),

final as (

    select
        coalesce(postings_monthly.customer_key, sessions_monthly.customer_key) as customer_key,
        coalesce(postings_monthly.month_start, sessions_monthly.month_start) as month_start,
        cast(coalesce(postings_monthly.n_postings, 0) as bigint) as n_postings,
        cast(coalesce(sessions_monthly.n_web_sessions, 0) as bigint) as n_web_sessions,
        cast(
            coalesce(postings_monthly.n_postings, 0) + coalesce(sessions_monthly.n_web_sessions, 0) as bigint
        )
            as n_activities,
        greatest(postings_monthly.last_posting_date, sessions_monthly.last_session_date)
            as last_activity_date,
        coalesce(postings_monthly.is_salary_credited, false) as is_salary_credited,
        cast(coalesce(postings_monthly.outflow_elsewhere, 0) as decimal(18, 2)) as outflow_elsewhere
    from postings_monthly
    full outer join sessions_monthly
        on
            postings_monthly.customer_key = sessions_monthly.customer_key
            and postings_monthly.month_start = sessions_monthly.month_start

)

select * from final
