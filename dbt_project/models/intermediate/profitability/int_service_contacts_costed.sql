-- Every contact-centre call and online-banking session at the unit cost of its channel
-- (assumptions: cost_per_call_minute on the call's talk time, cost_per_web_session per
-- session), with the unified customer it could be attributed to (null when none: an
-- unidentified caller, a session that never logged in, a prospect's login). The one place
-- the service cost pools are priced: the accounts' service cost
-- (int_account_service_costs_monthly) and the unallocated pool
-- (int_service_costs_unallocated_monthly) both read it.
-- The feeds name no account on a call or a session (feeds.yml: calls carry a queue,
-- events a product_code at most), so a contact is costed to its customer, not to an account.
with calls as (

    select * from {{ ref('stg_call_center__calls') }}

),

sessions as (

    select * from {{ ref('int_web_events_sessionised') }}

),

customer_xref as (

    select * from {{ ref('int_customer_xref') }}

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

call_contacts as (

    select
        'CALL' as channel,
        calls.call_id as contact_id,
        cast(date_trunc('month', cast(calls.started_at as date)) as date) as month_start,
        customer_xref.customer_key,
        -- DuckDB divides decimals in floating point: each row is cast back to a decimal so
        -- that sums of costs do not depend on the order rows are added in.
        cast(
            {{ decimal_quotient('cast(calls.talk_seconds as decimal(38, 4))', '60') }} as decimal(38, 10)
        ) as volume,
        cast(
            {{
                decimal_quotient(
                    'cast(calls.talk_seconds as decimal(38, 4)) * assumptions.cost_per_call_minute', '60'
                )
            }}
            as decimal(38, 10)
        ) as cost
    from calls
    left join customer_xref
        on
            customer_xref.source_table = 'calls'
            and calls.call_id = customer_xref.source_key
    cross join assumptions

),

session_contacts as (

    select
        'WEB_SESSION' as channel,
        sessions.session_id as contact_id,
        cast(date_trunc('month', sessions.session_date) as date) as month_start,
        customer_xref.customer_key,
        cast(1 as decimal(38, 10)) as volume,
        cast(assumptions.cost_per_web_session as decimal(38, 10)) as cost
    from sessions
    left join customer_xref
        on
            customer_xref.source_table = 'users'
            and sessions.user_id = customer_xref.source_key
    cross join assumptions

),

final as (

    select * from call_contacts
    union all
    select * from session_contacts

)

select * from final
