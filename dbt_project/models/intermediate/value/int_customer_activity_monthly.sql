-- What every customer did in every month: postings the customer initiated (any channel but
-- SYSTEM; reversals left out), online-banking sessions, the last day of either, whether a
-- salary (or pension: txn_type SALARY) was credited, and transfers the customer sent to
-- other banks (TRANSFER_OUT with a counterparty bank, not reversed): money the customer keeps
-- elsewhere. Postings count for the account's primary holder, sessions for the web user's
-- customer.
with transactions as (

    select * from {{ ref('int_transactions_flagged') }}
    where customer_key is not null and not is_reversal

),

sessions as (

    select * from {{ ref('int_web_sessions_keyed') }}
    where customer_key is not null

),

postings_monthly as (

    select
        transactions.customer_key,
        cast(date_trunc('month', transactions.posting_date) as date) as month_start,
        count(*) filter (where transactions.channel <> 'SYSTEM') as n_postings,
        max(transactions.posting_date) filter (where transactions.channel <> 'SYSTEM') as last_posting_date,
        bool_or(transactions.txn_type = 'SALARY') as is_salary_credited,
        coalesce(
            sum(-transactions.amount) filter (
                where
                transactions.txn_type = 'TRANSFER_OUT'
                and transactions.channel <> 'SYSTEM'
                and transactions.counterparty_bank is not null
                and not transactions.is_reversed
            ),
            0
        ) as outflow_elsewhere
    from transactions
    group by all

),

sessions_monthly as (

    select
        sessions.customer_key,
        cast(date_trunc('month', sessions.session_date) as date) as month_start,
        count(*) as n_web_sessions,
        max(sessions.session_date) as last_session_date
    from sessions
    group by all

),

final as (

    select
        coalesce(postings_monthly.customer_key, sessions_monthly.customer_key) as customer_key,
        coalesce(postings_monthly.month_start, sessions_monthly.month_start) as month_start,
        coalesce(postings_monthly.n_postings, 0) as n_postings,
        coalesce(sessions_monthly.n_web_sessions, 0) as n_web_sessions,
        coalesce(postings_monthly.n_postings, 0)
        + coalesce(sessions_monthly.n_web_sessions, 0) as n_activities,
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
