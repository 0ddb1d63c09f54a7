-- A failure means the contact centre's or the online platform's cost of a month is not
-- all accounted for: what the accounts carry plus the unallocated pool
-- (fct_unallocated_cost_monthly) is not the channel's volume x unit cost, so the bank's
-- operating cost would lose (or invent) service cost. Recomputed here from the delivered
-- calls' talk time and the sessions, at the unit costs of the assumptions seed:
--   per month and channel: the accounts' call or session cost + the pool's unallocated
--   cost = talk minutes x cost_per_call_minute, or sessions x cost_per_web_session, and
--   the pool's total_cost is that figure (within the cent of each rounded pool figure);
--   per month: the service_cost of fct_account_profitability_monthly (rounded to the cent
--   per account) + the pools' unallocated cost = the channels' total (within half a cent
--   per account-month).
with calls as (

    select * from {{ ref('stg_call_center__calls') }}

),

sessions as (

    select * from {{ ref('int_web_events_sessionised') }}

),

unit_costs as (

    select
        max(seed.value) filter (where seed.assumption = 'cost_per_call_minute') as cost_per_call_minute,
        max(seed.value) filter (where seed.assumption = 'cost_per_web_session') as cost_per_web_session
    from {{ ref('profitability_assumptions') }} as seed

),

account_channel_costs as (

    select * from {{ ref('int_account_service_costs_monthly') }}

),

account_profitability as (

    select * from {{ ref('fct_account_profitability_monthly') }}

),

pools as (

    select * from {{ ref('fct_unallocated_cost_monthly') }}

),

expected as (

    select
        cast(date_trunc('month', cast(calls.started_at as date)) as date) as month_start,
        'CALL' as channel,
        sum(calls.talk_seconds) * max(unit_costs.cost_per_call_minute) / 60 as total_cost
    from calls
    cross join unit_costs
    group by all
    union all
    select
        cast(date_trunc('month', cast(sessions.started_at as date)) as date) as month_start,
        'WEB_SESSION' as channel,
        count(*) * max(unit_costs.cost_per_web_session) as total_cost
    from sessions
    cross join unit_costs
    group by all

),

allocated_by_channel as (

    select
        account_channel_costs.month_start,
        {{ unnest_columns([
            ('channel', ["'CALL'", "'WEB_SESSION'"]),
            ('allocated_cost', ['sum(account_channel_costs.call_cost)', 'sum(account_channel_costs.session_cost)']),
        ]) }},
        count(*) as n_account_months
    from account_channel_costs
    group by account_channel_costs.month_start

),

by_channel as (

    select
        coalesce(expected.month_start, pools.month_start) as month_start,
        coalesce(expected.channel, pools.channel) as channel,
        expected.total_cost as expected_total_cost,
        pools.total_cost as pool_total_cost,
        -- unrounded: the union with by_month below would otherwise round it to its scale (2)
        cast(coalesce(allocated_by_channel.allocated_cost, 0) as decimal(38, 6)) as allocated_cost,
        coalesce(pools.unallocated_cost, 0) as unallocated_cost,
        0.01 + coalesce(allocated_by_channel.n_account_months, 0) * 0.000001 as tolerance
    from expected
    full outer join pools
        on
            expected.month_start = pools.month_start
            and expected.channel = pools.channel
    left join allocated_by_channel
        on
            coalesce(expected.month_start, pools.month_start) = allocated_by_channel.month_start
            and coalesce(expected.channel, pools.channel) = allocated_by_channel.channel

),

account_months as (

    select
        account_profitability.month_start,
        sum(account_profitability.service_cost) as allocated_cost,
        count(*) filter (where account_profitability.service_cost != 0) as n_account_months
    from account_profitability
    group by account_profitability.month_start

),

by_month as (

    select
        by_channel.month_start,
        'ALL' as channel,
        sum(by_channel.expected_total_cost) as expected_total_cost,
        sum(by_channel.pool_total_cost) as pool_total_cost,
        cast(coalesce(max(account_months.allocated_cost), 0) as decimal(38, 6)) as allocated_cost,
        sum(by_channel.unallocated_cost) as unallocated_cost,
        0.01 + coalesce(max(account_months.n_account_months), 0) * 0.005 as tolerance
    from by_channel
    left join account_months
        on by_channel.month_start = account_months.month_start
    group by by_channel.month_start

),

checked as (

    select * from by_channel
    union all
    select * from by_month

)

select checked.*
from checked
where
    checked.expected_total_cost is null
    or checked.pool_total_cost is null
    or abs(checked.pool_total_cost - checked.expected_total_cost) > 0.01
    or abs(
        checked.allocated_cost + checked.unallocated_cost - checked.expected_total_cost
    ) > checked.tolerance
