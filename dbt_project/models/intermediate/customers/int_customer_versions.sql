-- SCD type 2 of the unified customer: consecutive snapshot dates with the same tracked
-- attributes collapse into one version; a new version starts only when a tracked attribute
-- changes (a change and its undo are two versions). valid_to is the valid_from of the next
-- version (exclusive) and null on the current version. The first version starts on the
-- first snapshot date the warehouse holds, not on the customer's onboarding date.
-- Which record survives (survivor_customer_id) is not tracked: a new version needs a new value.
with daily as (

    select * from {{ ref('int_customers_unified_daily') }}

),

change_flagged as (

    select
        daily.*,
        coalesce(
            row(
                daily.customer_type, daily.full_name, daily.birth_date, daily.gender,
                daily.city, daily.region, daily.home_branch_id, daily.rm_id,
                daily.kyc_risk_rating, daily.onboarding_date, daily.status, daily.n_source_records
            ) is distinct from lag(
                row(
                    daily.customer_type, daily.full_name, daily.birth_date, daily.gender,
                    daily.city, daily.region, daily.home_branch_id, daily.rm_id,
                    daily.kyc_risk_rating, daily.onboarding_date, daily.status, daily.n_source_records
                )
            ) over (partition by daily.customer_key order by daily.snapshot_date),
            true
        ) as is_new_version
    from daily

),

numbered as (

    select
        change_flagged.*,
        cast(
            sum(cast(change_flagged.is_new_version as integer)) over (
                partition by change_flagged.customer_key
                order by change_flagged.snapshot_date
                rows between unbounded preceding and current row
            ) as integer
        ) as version_number
    from change_flagged

),

versions as (

    select
        numbered.customer_key,
        numbered.version_number,
        min(numbered.snapshot_date) as valid_from,
        max(numbered.snapshot_date) as last_seen_date,
        first(numbered.customer_type order by numbered.snapshot_date) as customer_type,
        first(numbered.full_name order by numbered.snapshot_date) as full_name,
        first(numbered.birth_date order by numbered.snapshot_date) as birth_date,
        first(numbered.gender order by numbered.snapshot_date) as gender,
        first(numbered.city order by numbered.snapshot_date) as city,
        first(numbered.region order by numbered.snapshot_date) as region,
        first(numbered.home_branch_id order by numbered.snapshot_date) as home_branch_id,
        first(numbered.rm_id order by numbered.snapshot_date) as rm_id,
        first(numbered.kyc_risk_rating order by numbered.snapshot_date) as kyc_risk_rating,
        first(numbered.onboarding_date order by numbered.snapshot_date) as onboarding_date,
        first(numbered.status order by numbered.snapshot_date) as status,
        first(numbered.n_source_records order by numbered.snapshot_date) as n_source_records
    from numbered
    group by numbered.customer_key, numbered.version_number

),

final as (

    select
        versions.*,
        lead(versions.valid_from) over customer_versions as valid_to,
        lead(versions.valid_from) over customer_versions is null as is_current
    from versions
    window customer_versions as (partition by versions.customer_key order by versions.valid_from)

)

select * from final
