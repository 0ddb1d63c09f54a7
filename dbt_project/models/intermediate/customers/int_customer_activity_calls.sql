-- Calls per customer up to the as-of date (int_customer_as_of), aggregated once for
-- customer_360, every window a var: calls and complaint calls (calls_window_days, the _90d
-- columns), calls of the short window (calls_short_window_days, calls_30d), open complaints
-- (complaint calls not RESOLVED, open_complaints_window_days: the feed carries no case
-- closure), post-call survey scores (csat_window_days) and the last call date. Calls of
-- unresolved callers are left out.
with calls as (

    select * from {{ ref('int_calls_keyed') }}

),

as_of as (

    select * from {{ ref('int_customer_as_of') }}

),

final as (

    select
        calls.customer_key,
        count(*) filter (
            where calls.call_date > as_of.as_of_date - {{ var('calls_window_days') }}
        ) as calls_in_window,
        count(*) filter (
            where calls.complaint_flag and calls.call_date > as_of.as_of_date - {{ var('calls_window_days') }}
        ) as complaints_in_window,
        count(*) filter (
            where calls.call_date > as_of.as_of_date - {{ var('calls_short_window_days') }}
        ) as calls_short_window,
        count(*) filter (
            where
            calls.complaint_flag
            and calls.outcome <> 'RESOLVED'
            and calls.call_date > as_of.as_of_date - {{ var('open_complaints_window_days') }}
        ) as open_complaints,
        avg(calls.csat_score) filter (
            where calls.call_date > as_of.as_of_date - {{ var('csat_window_days') }}
        ) as avg_csat,
        count(calls.csat_score) filter (
            where calls.call_date > as_of.as_of_date - {{ var('csat_window_days') }}
        ) as n_csat_responses,
        max(calls.call_date) as last_call_date
    from calls
    cross join as_of
    where
        calls.customer_key is not null
        and calls.call_date <= as_of.as_of_date
    group by calls.customer_key

)

select * from final
