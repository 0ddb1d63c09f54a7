-- The unified customer's attributes on every snapshot date: the golden record, built from
-- the records that belong to it that day (grouped by today's identity resolution, so history
-- and the current state agree on who is who). Survivorship, attribute by attribute:
--   customer_type, full_name, birth_date, gender: from the records with a national id (the
--       verified identity) first, then the most recently updated; the first non-null value
--   city, region (the address): the most recently updated non-null value
--   home_branch_id, rm_id: from the best-status record (ACTIVE, DORMANT, CLOSED), then the
--       most recently updated; rm_id the first non-null value in that order
--   kyc_risk_rating: the highest rating among the records (HIGH > MEDIUM > LOW): compliance
--       treats the customer by its riskiest record
--   onboarding_date: the earliest; status: the best; n_source_records: the records that day
-- Ties fall to the smallest customer_id, so the golden record is deterministic.
with customer_snapshots as (

    select * from {{ ref('stg_core_banking__customers') }}

),

identity as (

    select * from {{ ref('int_customer_identity') }}

),

keyed as (

    select
        identity.customer_key,
        customer_snapshots.*,
        customer_snapshots.national_id is not null
        and trim(customer_snapshots.national_id) <> '' as has_national_id,
        case customer_snapshots.status
            when 'ACTIVE' then 1
            when 'DORMANT' then 2
            else 3
        end as status_rank,
        case customer_snapshots.kyc_risk_rating
            when 'HIGH' then 3
            when 'MEDIUM' then 2
            when 'LOW' then 1
        end as kyc_rank
    from customer_snapshots
    inner join identity
        on customer_snapshots.customer_id = identity.customer_id

),

unified as (

    select
        keyed.customer_key,
        keyed.snapshot_date,
        first(keyed.customer_id order by keyed.status_rank asc, keyed.updated_at desc, keyed.customer_id asc)
            as survivor_customer_id,
        first(
            keyed.customer_type
            order by keyed.has_national_id desc, keyed.updated_at desc, keyed.customer_id asc
        ) as customer_type,
        first(
            keyed.full_name order by keyed.has_national_id desc, keyed.updated_at desc, keyed.customer_id asc
        )
        filter (where keyed.full_name is not null) as full_name,
        first(
            keyed.birth_date order by keyed.has_national_id desc, keyed.updated_at desc, keyed.customer_id asc
        )
        filter (where keyed.birth_date is not null) as birth_date,
        first(keyed.gender order by keyed.has_national_id desc, keyed.updated_at desc, keyed.customer_id asc)
        filter (where keyed.gender is not null) as gender,
        first(keyed.city order by keyed.updated_at desc, keyed.customer_id asc)
        filter (where keyed.city is not null) as city,
        first(keyed.region order by keyed.updated_at desc, keyed.customer_id asc)
        filter (where keyed.region is not null) as region,
        first(
            keyed.home_branch_id order by keyed.status_rank asc, keyed.updated_at desc, keyed.customer_id asc
        )
            as home_branch_id,
        first(keyed.rm_id order by keyed.status_rank asc, keyed.updated_at desc, keyed.customer_id asc)
        filter (where keyed.rm_id is not null) as rm_id,
        first(keyed.kyc_risk_rating order by keyed.kyc_rank desc, keyed.customer_id asc) as kyc_risk_rating,
        min(keyed.onboarding_date) as onboarding_date,
        first(keyed.status order by keyed.status_rank, keyed.customer_id) as status,
        count(*) as n_source_records
    from keyed
    group by keyed.customer_key, keyed.snapshot_date

)

select * from unified
