-- Outbound campaigns by customer segment (docs/models.md, "Campaign response"): who was
-- contacted (an outbound call with the campaign's id), who responded (answered: any outcome
-- but NO_ANSWER), who converted (outcome SALE), and what the converted customers contributed
-- in the three months after the campaign's month, beside a matched group: the customers of the
-- same segment the campaign did not contact, over the same months. The segment is the
-- customer's value tier of the month before the campaign's month (UNKNOWN without one). Only
-- complete months count; months_observed says how many of the three the data holds yet.
with calls as (

    select * from {{ ref('int_calls_keyed') }}

),

customer_value as (

    select * from {{ ref('int_customer_value_monthly') }}

),

profitability as (

    select * from {{ ref('int_customer_profitability_monthly') }}

),

campaign_calls as (

    select
        calls.campaign_id,
        calls.customer_key,
        calls.call_date,
        calls.outcome
    from calls
    where calls.campaign_id is not null and calls.direction = 'OUTBOUND' and calls.customer_key is not null

),

campaigns as (

    select
        campaign_calls.campaign_id,
        cast(date_trunc('month', min(campaign_calls.call_date)) as date) as campaign_month,
        min(campaign_calls.call_date) as first_call_date,
        max(campaign_calls.call_date) as last_call_date
    from campaign_calls
    group by campaign_calls.campaign_id

),

contacts as (

    select
        campaign_calls.campaign_id,
        campaign_calls.customer_key,
        bool_or(campaign_calls.outcome <> 'NO_ANSWER') as responded,
        bool_or(campaign_calls.outcome = 'SALE') as converted
    from campaign_calls
    group by campaign_calls.campaign_id, campaign_calls.customer_key

),

segments as (

    select
        campaigns.campaign_id,
        customer_value.customer_key,
        customer_value.value_tier as segment
    from campaigns
    inner join customer_value
        on cast({{ months_before('campaigns.campaign_month', 1) }} as date) = customer_value.month_start

),

following as (

    select
        campaigns.campaign_id,
        profitability.customer_key,
        profitability.month_start,
        profitability.contribution
    from campaigns
    inner join profitability
        on
            campaigns.campaign_month < profitability.month_start
            and cast({{ months_after('campaigns.campaign_month', 3) }} as date) >= profitability.month_start
            and profitability.is_complete_month

),

months_observed as (

    select
        following.campaign_id,
        count(distinct following.month_start) as months_observed
    from following
    group by following.campaign_id

),

contribution_after as (

    select
        following.campaign_id,
        following.customer_key,
        sum(following.contribution) as contribution_3m
    from following
    group by following.campaign_id, following.customer_key

),

customers as (

    select
        campaigns.campaign_id,
        segments.customer_key,
        coalesce(segments.segment, 'UNKNOWN') as segment
    from campaigns
    inner join segments on campaigns.campaign_id = segments.campaign_id
    union
    select
        contacts.campaign_id,
        contacts.customer_key,
        coalesce(segments.segment, 'UNKNOWN') as segment
    from contacts
    left join segments
        on contacts.campaign_id = segments.campaign_id and contacts.customer_key = segments.customer_key

),

outcomes as (

    select
        customers.campaign_id,
        customers.segment,
        customers.customer_key,
        contacts.customer_key is not null as contacted,
        coalesce(contacts.responded, false) as responded,
        coalesce(contacts.converted, false) as converted,
        coalesce(contribution_after.contribution_3m, 0) as contribution_3m
    from customers
    left join contacts
        on customers.campaign_id = contacts.campaign_id and customers.customer_key = contacts.customer_key
    left join contribution_after
        on
            customers.campaign_id = contribution_after.campaign_id
            and customers.customer_key = contribution_after.customer_key

),

final as (

    select
        outcomes.campaign_id,
        outcomes.segment,
        campaigns.campaign_month,
        campaigns.first_call_date,
        campaigns.last_call_date,
        count(*) filter (where outcomes.contacted) as contacted,
        count(*) filter (where outcomes.responded) as responded,
        count(*) filter (where outcomes.converted) as converted,
        count(*) filter (where not outcomes.contacted) as matched_uncontacted,
        coalesce(months_observed.months_observed, 0) as months_observed,
        -- averages rounded half up to the cent on both engines (rounded_quotient: DuckDB's avg
        -- of a decimal is a double, which an exact half cent can fall either side of)
        cast(
            {{
                rounded_quotient(
                    'sum(outcomes.contribution_3m) filter (where outcomes.converted)',
                    'count(outcomes.contribution_3m) filter (where outcomes.converted)',
                    2,
                )
            }} as decimal(18, 2)
        ) as contribution_3m_converted,
        cast(
            {{
                rounded_quotient(
                    'sum(outcomes.contribution_3m) filter (where not outcomes.contacted)',
                    'count(outcomes.contribution_3m) filter (where not outcomes.contacted)',
                    2,
                )
            }} as decimal(18, 2)
        ) as contribution_3m_matched
    from outcomes
    inner join campaigns on outcomes.campaign_id = campaigns.campaign_id
    left join months_observed on outcomes.campaign_id = months_observed.campaign_id
    group by all
    having count(*) filter (where outcomes.contacted) > 0

)

select * from final
