-- What every customer did in every month: customer-initiated postings on the accounts the
-- customer is primary holder of (int_account_activity_monthly) and online-banking sessions of
-- the customer's web users (int_web_user_activity_monthly), the last day of either, whether a
-- salary was credited, and transfers to other banks: money the customer keeps elsewhere.
-- Both inputs are incremental by month and kept by account and user; this table maps them to
-- today's customer keys (accounts' primary holder, the users' resolution).
--
-- Incremental by month (macros/incremental.sql, strategy replace_tail), rows equal to a full
-- refresh's. A customer's row of a month is built from that month's rows of the inputs and
-- from which accounts and users are the customer's today. So a night rebuilds
--   - every customer's months from the earliest month the inputs rewrote since this table read
--     them (their rows of a run newer than account_activity_built_in_run or
--     user_activity_built_in_run: they rewrite whole months), or that they no longer hold, and
--     never later than the latest month this table holds (the current month);
--   - all the months of a customer whose accounts or users changed (`links_fingerprint`, a
--     64-bit digest of them, differs from the one its rows keep: an account whose primary
--     holder changed, a user resolved to another customer, a re-keyed customer), or who is
--     new or gone.
{#- The columns of the final select, in its order: the markers (value_markers) name them. -#}
{%- set output_columns = [
    'customer_key', 'month_start', 'n_postings', 'n_web_sessions', 'n_activities', 'last_activity_date',
    'is_salary_credited', 'outflow_elsewhere', 'links_fingerprint', 'rebuilt_from', 'account_activity_built_in_run',
    'user_activity_built_in_run', 'built_in_run',
] %}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_tail('customer_key', 'month_start'),
    )
}}

with account_activity as (

    select * from {{ ref('int_account_activity_monthly') }}

),

user_activity as (

    select * from {{ ref('int_web_user_activity_monthly') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}
    where customer_key is not null

),

customer_xref as (

    select * from {{ ref('int_customer_xref') }}
    where source_table = 'users' and customer_key is not null

),

-- what all of a customer's months are mapped from: its accounts (as primary holder) and users
links as (

    select
        accounts.customer_key,
        'account ' || accounts.account_id as link
    from accounts
    union all
    select
        customer_xref.customer_key,
        'user ' || customer_xref.source_key as link
    from customer_xref

),

customer_links as (

    select
        links.customer_key,
        {{ ordered_list_digest(['links.link']) }} as links_fingerprint
    from links
    group by links.customer_key

),

watermarks as (

    select
        (
            select max(account_activity.built_in_run) as built_in_run
            from account_activity
        ) as account_activity_built_in_run,
        (
            select max(user_activity.built_in_run) as built_in_run
            from user_activity
        ) as user_activity_built_in_run

),

{% if is_incremental() %}
    kept_watermarks as (

        select
            coalesce(max(kept.account_activity_built_in_run), '') as account_activity_built_in_run,
            coalesce(max(kept.user_activity_built_in_run), '') as user_activity_built_in_run,
            max(kept.month_start) as last_month_start
        from {{ this }} as kept

    ),

    restart as (

        select
            least(
                coalesce(kept_watermarks.last_month_start, date '0001-01-01'),
                (
                    select min(newer.month_start) from account_activity as newer
                    where newer.built_in_run > kept_watermarks.account_activity_built_in_run
                ),
                (
                    select min(newer.month_start) from user_activity as newer
                    where newer.built_in_run > kept_watermarks.user_activity_built_in_run
                ),
                -- a month the inputs no longer hold at all (a corrected delivery withdrew it)
                (
                    select min(kept.month_start) from {{ this }} as kept
                    where
                        kept.month_start not in (select account_activity.month_start from account_activity)
                        and kept.month_start not in (select user_activity.month_start from user_activity)
                )
            ) as restart_date
        from kept_watermarks

    ),

    -- customers whose accounts or users are not those their rows were mapped from, or who
    -- gained or lost every row: all their months are rebuilt
    rebuilt_customers as (

        {{ keys_with_changed_fingerprint('customer_key', 'links_fingerprint', 'customer_links', new_keys=true) }}

    ),
{% else %}
    {{ full_refresh_restart('rebuilt_customers', 'customer_key') }}
{% endif %}

-- the accounts and users of the customers rebuilt whole
rebuilt_accounts as (

    select accounts.account_id
    from accounts
    where accounts.customer_key in (select rebuilt_customers.customer_key from rebuilt_customers)

),

rebuilt_users as (

    select customer_xref.source_key as user_id
    from customer_xref
    where customer_xref.customer_key in (select rebuilt_customers.customer_key from rebuilt_customers)

),

night_account_activity as (

    select account_activity.*
    from account_activity
    where
        account_activity.month_start >= (select restart.restart_date from restart)
        or account_activity.account_id in (select rebuilt_accounts.account_id from rebuilt_accounts)

),

night_user_activity as (

    select user_activity.*
    from user_activity
    where
        user_activity.month_start >= (select restart.restart_date from restart)
        or user_activity.user_id in (select rebuilt_users.user_id from rebuilt_users)

),

postings_monthly as (

    select
        accounts.customer_key,
        account_activity.month_start,
        sum(account_activity.n_postings) as n_postings,
        max(account_activity.last_posting_date) as last_posting_date,
        bool_or(account_activity.is_salary_credited) as is_salary_credited,
        sum(account_activity.outflow_elsewhere) as outflow_elsewhere
    from night_account_activity as account_activity
    inner join accounts
        on account_activity.account_id = accounts.account_id
    group by all

),

sessions_monthly as (

    select
        customer_xref.customer_key,
        user_activity.month_start,
        sum(user_activity.n_web_sessions) as n_web_sessions,
        max(user_activity.last_session_date) as last_session_date
    from night_user_activity as user_activity
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

),

lineage as (

    -- lineage of the incremental build: what the customer's rows were mapped from, the month
    -- the night rebuilt it from (the first for a customer rebuilt whole), the inputs' latest
    -- runs it read (the next night's watermarks), the run that wrote the row
    select
        final.*,
        customer_links.links_fingerprint,
        case
            when final.customer_key in (select rebuilt_customers.customer_key from rebuilt_customers)
                then date '0001-01-01'
            else restart.restart_date
        end as rebuilt_from,
        watermarks.account_activity_built_in_run,
        watermarks.user_activity_built_in_run,
        '{{ run_started_at.strftime("%Y%m%dT%H%M%S%fZ") }}' as built_in_run
    from final
    inner join customer_links
        on final.customer_key = customer_links.customer_key
    cross join restart
    cross join watermarks

)

select * from lineage
{{ value_markers('rebuilt_customers', output_columns) }}
