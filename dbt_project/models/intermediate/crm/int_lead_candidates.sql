-- Candidates for a lead, one per customer and day (docs/crm.md), before the contact rules
-- (int_leads applies them):
--   from the day's customer events of severity at least var lead_min_severity;
--   VISIT_DUE: a top-value customer (value tier A the month before) with no contact
--     (int_lead_customer_facts) in the var top_value_visit_days days before the day, judged
--     once the data covers that many days;
-- with the customer's RM and home branch on the day (int_customer_versions; no RM: the
-- branch queue). priority = 10 x the highest severity + the value weight of the tier the
-- month before (A 5, B 3, C 1, else 0) + the churn weight of the customer's latest churn
-- score on or before the day, at most var churn_score_max_age_days old (HIGH 4, MEDIUM 2,
-- else 0: int_churn_risk_bands) + one per further event type the same day.
-- reason names the events in words.
-- the events of the candidate days (customer_events_since: the night's window int_leads sets;
-- every event when none is set)
with events as (

    select * from {{ ref('int_customer_events') }}
    where {{ customer_events_since('event_date') }}

),

facts as (

    select * from {{ ref('int_lead_customer_facts') }}

),

customer_value as (

    select * from {{ ref('int_customer_value_monthly') }}

),

versions as (

    select * from {{ ref('int_customer_versions') }}

),

-- the scores a candidate day can take its churn risk from (customer_events_since: every score
-- when no window is set)
churn_scores as (

    select * from {{ ref('int_churn_risk_bands') }}
    where {{ customer_events_since('score_date', var('churn_score_max_age_days')) }}

),

loads as (

    select * from {{ ref('int_business_date_loads') }}

),

data_range as (

    select
        min(loads.business_date) as first_date,
        max(loads.business_date) as last_date
    from loads

),

event_days as (

    select
        events.customer_key,
        events.event_date as candidate_date,
        max(events.severity) as severity,
        count(distinct events.event_type) as n_event_types,
        {{ ordered_string_agg(
            "events.event_type || ' (' || coalesce(cast(events.measured_value as " ~ string_type() ~ "), '-')"
            ~ " || ' against ' || coalesce(cast(events.baseline_value as " ~ string_type() ~ "), '-') || ')'",
            "', '",
            ['-events.severity', 'events.event_type'],
        ) }} as reason
    from events
    where events.severity >= {{ var('lead_min_severity') }}
    group by all

),

top_value_days as (

    select
        customer_value.customer_key,
        loads.business_date as candidate_date
    from customer_value
    inner join loads
        on date_trunc('month', loads.business_date) = {{ months_after('customer_value.month_start', 1) }}
    cross join data_range
    where
        customer_value.value_tier = 'A'
        and loads.business_date >= data_range.first_date + {{ var('top_value_visit_days') }}

),

-- the contacts a visit due looks at: those of the last top_value_visit_days days before a
-- candidate day, so that a night reads the contacts of its window, not of the history
-- (customer_events_since: every contact when no window is set)
recent_contacts as (

    select
        facts.customer_key,
        facts.fact_date
    from facts
    where
        facts.fact_kind = 'CONTACT'
        and {{ customer_events_since('facts.fact_date', var('top_value_visit_days')) }}
        and {{ customer_events_delivered_since('facts.delivered_date', var('top_value_visit_days')) }}

),

visits_due as (

    select
        top_value_days.customer_key,
        top_value_days.candidate_date,
        2 as severity,
        1 as n_event_types,
        'VISIT_DUE (no contact in the last {{ var("top_value_visit_days") }} days)' as reason
    from top_value_days
    where
        not exists (
            select recent_contacts.customer_key
            from recent_contacts
            where
                recent_contacts.customer_key = top_value_days.customer_key
                and recent_contacts.fact_date < top_value_days.candidate_date
                and recent_contacts.fact_date
                >= top_value_days.candidate_date - {{ var('top_value_visit_days') }}
        )

),

all_days as (

    select * from event_days
    union all
    select * from visits_due

),

merged as (

    select
        all_days.customer_key,
        all_days.candidate_date,
        max(all_days.severity) as severity,
        sum(all_days.n_event_types) as n_event_types,
        {{ ordered_string_agg('all_days.reason', "'; '", 'all_days.reason') }} as reason
    from all_days
    group by all

),

-- the band of the customer's latest score on or before the day, within the max age
churn_on_the_day as (

    select
        merged.customer_key,
        merged.candidate_date,
        {{ arg_max('churn_scores.risk_band', 'churn_scores.score_date') }} as risk_band
    from merged
    inner join churn_scores
        on
            merged.customer_key = churn_scores.customer_key
            and merged.candidate_date >= churn_scores.score_date
            and merged.candidate_date - {{ var('churn_score_max_age_days') }} <= churn_scores.score_date
    group by all

),

final as (

    select
        merged.customer_key,
        merged.candidate_date,
        versions.rm_id,
        versions.home_branch_id as branch_id,
        cast(
            10 * merged.severity
            + case previous_value.value_tier when 'A' then 5 when 'B' then 3 when 'C' then 1 else 0 end
            + case churn_on_the_day.risk_band when 'HIGH' then 4 when 'MEDIUM' then 2 else 0 end
            + merged.n_event_types - 1
            as integer
        ) as priority,
        merged.reason
    from merged
    left join customer_value as previous_value
        on
            merged.customer_key = previous_value.customer_key
            and {{ months_after('previous_value.month_start', 1) }}
            = date_trunc('month', merged.candidate_date)
    left join churn_on_the_day
        on
            merged.customer_key = churn_on_the_day.customer_key
            and merged.candidate_date = churn_on_the_day.candidate_date
    left join versions
        on
            merged.customer_key = versions.customer_key
            and merged.candidate_date >= versions.valid_from
            and merged.candidate_date < coalesce(versions.valid_to, date '9999-12-31')

)

select * from final
