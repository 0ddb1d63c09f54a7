-- The unified customer's attributes on every snapshot date, from the records that belong
-- to it that day (grouped with today's identity resolution, so history and the current
-- state agree on who is who).
--
-- Survivorship, first cut: descriptive attributes come from one surviving record, the one
-- with the best status (ACTIVE, then DORMANT, then CLOSED), then the most recently updated,
-- then the smallest customer_id. onboarding_date is the earliest of the group's records.
with customer_snapshots as (

    select * from {{ ref('stg_core_banking__customers') }}

),

matched_customers as (

    select * from {{ ref('int_customer_records_matched') }}

),

keyed as (

    select
        matched_customers.customer_key,
        customer_snapshots.*,
        case customer_snapshots.status
            when 'ACTIVE' then 1
            when 'DORMANT' then 2
            else 3
        end as status_rank
    from customer_snapshots
    inner join matched_customers
        on customer_snapshots.customer_id = matched_customers.customer_id

),

ranked as (

    select
        keyed.*,
        min(keyed.onboarding_date) over customer_day as group_onboarding_date,
        count(*) over customer_day as n_source_records,
        row_number() over (
            partition by keyed.customer_key, keyed.snapshot_date
            order by keyed.status_rank asc, keyed.updated_at desc, keyed.customer_id asc
        ) as survivor_rank
    from keyed
    window customer_day as (partition by keyed.customer_key, keyed.snapshot_date)

),

unified as (

    select
        ranked.customer_key,
        ranked.snapshot_date,
        ranked.customer_id as survivor_customer_id,
        ranked.customer_type,
        ranked.full_name,
        ranked.birth_date,
        ranked.gender,
        ranked.city,
        ranked.region,
        ranked.home_branch_id,
        ranked.rm_id,
        ranked.kyc_risk_rating,
        ranked.group_onboarding_date as onboarding_date,
        ranked.status,
        ranked.n_source_records
    from ranked
    where ranked.survivor_rank = 1

)

select * from unified
