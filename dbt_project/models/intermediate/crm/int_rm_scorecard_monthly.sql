-- The RM scorecard, RM x month (docs/crm.md). A customer's month is credited to the RM who
-- looks after the customer on the month's reference date (its last day, or the latest
-- business date in the current month), at the period's credit_share (int_customer_rm_periods);
-- customers without an RM make the row with rm_id null, so the rows of a month add up to the
-- bank (tests/assert_rm_scorecards_add_up_to_the_bank.sql).
--   aum, loans, contribution: the customers' average LIABILITY and ASSET balances and
--     contribution of the month (int_customer_profitability_monthly) times the share;
--   contribution_last_year and contribution_growth: the same RM's contribution twelve months
--     before, and the difference (null without that month);
--   new and lost customers: looked after now and not at the month before's reference date,
--     and the other way round (in the data's first month every customer is new);
--   leads (int_leads, not suppressed) by created month: assigned, contacted (CONTACTED or
--     CONVERTED), converted, conversion rate (converted / assigned), average days from
--     creation to the contact or sale;
--   rank_in_branch, rank_in_region: by contribution, highest first, among the RMs of the
--     RM's branch and region (dim_relationship_manager's branch) that month.
with customer_profitability as (

    select * from {{ ref('int_customer_profitability_monthly') }}

),

rm_periods as (

    select * from {{ ref('int_customer_rm_periods') }}

),

leads as (

    select * from {{ ref('int_leads') }}

),

relationship_managers as (

    select * from {{ ref('int_relationship_managers_current') }}

),

branches as (

    select * from {{ ref('int_branches_current') }}

),

loads as (

    select * from {{ ref('int_business_date_loads') }}

),

data_end as (

    select max(loads.business_date) as last_date
    from loads

),

months as (

    select distinct
        customer_profitability.month_start,
        least(
            cast({{ months_after('customer_profitability.month_start', 1) }} - interval 1 day as date),
            data_end.last_date
        ) as reference_date
    from customer_profitability
    cross join data_end

),

assignments as (

    select
        months.month_start,
        rm_periods.customer_key,
        rm_periods.rm_id,
        rm_periods.credit_share
    from months
    inner join rm_periods
        on
            months.reference_date >= rm_periods.valid_from
            and months.reference_date < coalesce(rm_periods.valid_to, date '9999-12-31')

),

credited as (

    select
        customer_profitability.month_start,
        assignments.rm_id,
        cast(
            sum(
                customer_profitability.avg_liability_balance * coalesce(assignments.credit_share, 1)
            ) as decimal(18, 2)
        )
            as aum,
        cast(
            sum(customer_profitability.avg_asset_balance * coalesce(assignments.credit_share, 1)) as decimal(
                18, 2
            )
        )
            as loans,
        cast(
            sum(customer_profitability.contribution * coalesce(assignments.credit_share, 1)) as decimal(18, 2)
        )
            as contribution
    from customer_profitability
    left join assignments
        on
            customer_profitability.month_start = assignments.month_start
            and customer_profitability.customer_key = assignments.customer_key
    group by all

),

customer_counts as (

    select
        assignments.month_start,
        assignments.rm_id,
        count(distinct assignments.customer_key) as n_customers,
        count(distinct assignments.customer_key) filter (where before.customer_key is null) as n_new_customers
    from assignments
    left join assignments as before
        on
            assignments.customer_key = before.customer_key
            and assignments.rm_id = before.rm_id
            and before.month_start = {{ months_before('assignments.month_start', 1) }}
    group by all

),

lost as (

    select
        cast({{ months_after('before.month_start', 1) }} as date) as month_start,
        before.rm_id,
        count(distinct before.customer_key) as n_lost_customers
    from assignments as before
    inner join months
        on months.month_start = {{ months_after('before.month_start', 1) }}
    left join assignments as now
        on
            before.customer_key = now.customer_key
            and before.rm_id = now.rm_id
            and months.month_start = now.month_start
    where now.customer_key is null
    group by all

),

lead_counts as (

    select
        cast(date_trunc('month', leads.created_date) as date) as month_start,
        leads.rm_id,
        count(*) as leads_assigned,
        count(*) filter (where leads.status in ('CONTACTED', 'CONVERTED')) as leads_contacted,
        count(*) filter (where leads.status = 'CONVERTED') as leads_converted,
        avg({{ days_between('leads.created_date', 'leads.outcome_date') }}) filter (
            where leads.status in ('CONTACTED', 'CONVERTED')
        ) as avg_days_to_contact
    from leads
    where
        leads.status not in ('SUPPRESSED', 'WAITING')
        and leads.rm_id is not null
    group by all

),

scored as (

    select
        credited.month_start,
        credited.rm_id,
        relationship_managers.branch_id,
        branches.region,
        coalesce(customer_counts.n_customers, 0) as n_customers,
        credited.aum,
        credited.loans,
        credited.contribution,
        last_year.contribution as contribution_last_year,
        cast(credited.contribution - last_year.contribution as decimal(18, 2)) as contribution_growth,
        coalesce(customer_counts.n_new_customers, 0) as n_new_customers,
        coalesce(lost.n_lost_customers, 0) as n_lost_customers,
        coalesce(lead_counts.leads_assigned, 0) as leads_assigned,
        coalesce(lead_counts.leads_contacted, 0) as leads_contacted,
        coalesce(lead_counts.leads_converted, 0) as leads_converted,
        cast(lead_counts.leads_converted / nullif(lead_counts.leads_assigned, 0) as decimal(5, 4))
            as conversion_rate,
        cast(lead_counts.avg_days_to_contact as decimal(8, 2)) as avg_days_to_contact
    from credited
    left join credited as last_year
        on
            credited.rm_id is not distinct from last_year.rm_id
            and last_year.month_start = {{ months_before('credited.month_start', 12) }}
    left join customer_counts
        on
            credited.month_start = customer_counts.month_start
            and credited.rm_id is not distinct from customer_counts.rm_id
    left join lost
        on
            credited.month_start = lost.month_start
            and credited.rm_id = lost.rm_id
    left join lead_counts
        on
            credited.month_start = lead_counts.month_start
            and credited.rm_id = lead_counts.rm_id
    left join relationship_managers
        on credited.rm_id = relationship_managers.rm_id
    left join branches
        on relationship_managers.branch_id = branches.branch_id

),

final as (

    select
        scored.*,
        case
            when scored.rm_id is not null
                then cast(rank() over (
                        partition by scored.month_start, scored.rm_id is null, scored.branch_id
                        order by scored.contribution desc
                    ) as bigint)
        end as rank_in_branch,
        case
            when scored.rm_id is not null
                then cast(rank() over (
                        partition by scored.month_start, scored.rm_id is null, scored.region
                        order by scored.contribution desc
                    ) as bigint)
        end as rank_in_region
    from scored

)

select * from final
