-- RMs who leave or left (a leave_date, or gone from the latest RM snapshot: departure the day
-- after their last snapshot), the customers they looked after and what happened to them
-- ("customers leave with their RM", docs/crm.md):
--   reference_date: the day before the departure, at the earliest the first day of the
--     customer history and at the latest the latest business date (an announced departure);
--   the customers at risk: those the RM looked after on the reference date
--     (int_customer_rm_periods), their contribution over the var value_window_months months
--     up to the reference month and their deposits (average LIABILITY balance) that month;
--   after: how many the RM still holds now (nobody took them over), were reassigned, have no
--     RM, or have CLOSED, and their deposits in the latest month against the reference month.
{% set reference_month = "date_trunc('month', at_risk.reference_date)" %}
with relationship_managers as (

    select * from {{ ref('int_relationship_managers_current') }}

),

rm_periods as (

    select * from {{ ref('int_customer_rm_periods') }}

),

versions as (

    select * from {{ ref('int_customer_versions') }}

),

customer_profitability as (

    select * from {{ ref('int_customer_profitability_monthly') }}

),

loads as (

    select * from {{ ref('int_business_date_loads') }}

),

first_version as (

    select min(versions.valid_from) as first_date
    from versions

),

data_range as (

    select
        first_version.first_date,
        max(loads.business_date) as last_date,
        cast(date_trunc('month', max(loads.business_date)) as date) as latest_month
    from loads
    cross join first_version
    group by first_version.first_date

),

departures as (

    select
        relationship_managers.rm_id,
        relationship_managers.branch_id,
        coalesce(
            relationship_managers.leave_date,
            cast(relationship_managers.snapshot_date + interval 1 day as date)
        ) as departure_date
    from relationship_managers
    where
        relationship_managers.leave_date is not null
        or not relationship_managers.is_in_latest_snapshot

),

referenced as (

    select
        departures.*,
        departures.departure_date <= data_range.last_date as has_left,
        least(greatest(departures.departure_date - 1, data_range.first_date), data_range.last_date)
            as reference_date,
        data_range.last_date
    from departures
    cross join data_range

),

at_risk as (

    select
        referenced.rm_id,
        referenced.reference_date,
        rm_periods.customer_key
    from referenced
    inner join rm_periods
        on
            referenced.rm_id = rm_periods.rm_id
            and referenced.reference_date >= rm_periods.valid_from
            and referenced.reference_date < coalesce(rm_periods.valid_to, date '9999-12-31')

),

now_versions as (

    select
        versions.customer_key,
        versions.rm_id,
        versions.status
    from versions
    where versions.is_current

),

measured as (

    select
        at_risk.rm_id,
        count(distinct at_risk.customer_key) as n_customers,
        count(distinct at_risk.customer_key) filter (
            where now_versions.rm_id = at_risk.rm_id
        ) as n_still_with_rm,
        count(distinct at_risk.customer_key) filter (
            where now_versions.rm_id <> at_risk.rm_id
        ) as n_reassigned,
        count(distinct at_risk.customer_key) filter (where now_versions.rm_id is null) as n_unassigned,
        count(distinct at_risk.customer_key) filter (where now_versions.status = 'CLOSED') as n_closed
    from at_risk
    left join now_versions
        on at_risk.customer_key = now_versions.customer_key
    group by at_risk.rm_id

),

money as (

    select
        at_risk.rm_id,
        cast(
            sum(customer_profitability.contribution) filter (
                where
                customer_profitability.month_start <= {{ reference_month }}
                and customer_profitability.month_start
                > {{ months_before(reference_month, var('value_window_months')) }}
            ) as decimal(18, 2)
        ) as contribution_at_risk,
        cast(
            sum(customer_profitability.avg_liability_balance) filter (
                where customer_profitability.month_start = {{ reference_month }}
            ) as decimal(18, 2)
        ) as aum_at_reference,
        cast(
            sum(customer_profitability.avg_liability_balance) filter (
                where customer_profitability.month_start = data_range.latest_month
            ) as decimal(18, 2)
        ) as aum_latest
    from at_risk
    inner join customer_profitability
        on at_risk.customer_key = customer_profitability.customer_key
    cross join data_range
    group by at_risk.rm_id

),

final as (

    select
        referenced.rm_id,
        referenced.branch_id,
        referenced.departure_date,
        referenced.has_left,
        referenced.reference_date,
        coalesce(measured.n_customers, 0) as n_customers,
        coalesce(money.contribution_at_risk, 0) as contribution_at_risk,
        coalesce(money.aum_at_reference, 0) as aum_at_reference,
        coalesce(money.aum_latest, 0) as aum_latest,
        coalesce(measured.n_still_with_rm, 0) as n_still_with_rm,
        coalesce(measured.n_reassigned, 0) as n_reassigned,
        coalesce(measured.n_unassigned, 0) as n_unassigned,
        coalesce(measured.n_closed, 0) as n_closed
    from referenced
    left join measured
        on referenced.rm_id = measured.rm_id
    left join money
        on referenced.rm_id = money.rm_id

)

select * from final
