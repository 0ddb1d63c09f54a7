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
--
-- Incremental (macros/customer_history.sql): a day's golden record depends only on that day's
-- snapshot and on which records the customer holds, so a night unifies the snapshot dates the
-- ledger lists as new or re-delivered (all customers, that day only) and the customers whose
-- records changed (a merge, a split, a record joining: every day, under today's identity);
-- the pre-hook deletes the same rows first. Every other row stays as it was built. load_id
-- is the load the day's snapshot came in.
-- depends_on: {{ ref('int_customer_history_dates') }}
-- depends_on: {{ ref('int_customer_history_keys') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=["{{ delete_changed_customer_days() }}"],
    )
}}
{%- set changes = customer_history_changes() %}
{#- the survivorship orders (above), for ordered_first (macros/engines_aggregates.sql) #}
{%- set verified = ['keyed.has_national_id desc', 'keyed.updated_at desc', 'keyed.customer_id asc'] %}
{%- set latest = ['keyed.updated_at desc', 'keyed.customer_id asc'] %}
{%- set by_status = ['keyed.status_rank asc', 'keyed.updated_at desc', 'keyed.customer_id asc'] %}

with customer_snapshots as (

    select * from {{ ref('stg_core_banking__customers') }}
    {% if is_incremental() %}
        where snapshot_date in {{ customer_history_date_list(changes.dates) }}
    {% endif %}

),

identity as (

    select * from {{ ref('int_customer_identity') }}

),
{% if is_incremental() and changes.keys %}

changed_keys as (

    select * from {{ ref('int_customer_history_keys') }}
    where is_changed

),

rebuilt_customer_snapshots as (

    -- every day of the changed customers' records (the changed dates are read above already)
    select all_snapshots.*
    from {{ ref('stg_core_banking__customers') }} as all_snapshots
    inner join identity
        on all_snapshots.customer_id = identity.customer_id
    where
        identity.customer_key in (select changed_keys.customer_key from changed_keys)
        {% if changes.dates %}
            and all_snapshots.snapshot_date not in {{ customer_history_date_list(changes.dates) }}
        {% endif %}

),
{% endif %}

snapshots_to_unify as (

    select * from customer_snapshots
    {% if is_incremental() and changes.keys %}
        union all
        select * from rebuilt_customer_snapshots
    {% endif %}

),

keyed as (

    select
        identity.customer_key,
        snapshots_to_unify.*,
        snapshots_to_unify.national_id is not null
        and trim(snapshots_to_unify.national_id) <> '' as has_national_id,
        case snapshots_to_unify.status
            when 'ACTIVE' then 1
            when 'DORMANT' then 2
            else 3
        end as status_rank,
        case snapshots_to_unify.kyc_risk_rating
            when 'HIGH' then 3
            when 'MEDIUM' then 2
            when 'LOW' then 1
        end as kyc_rank
    from snapshots_to_unify
    inner join identity
        on snapshots_to_unify.customer_id = identity.customer_id

),

unified as (

    select
        keyed.customer_key,
        keyed.snapshot_date,
        {{ ordered_first('keyed.customer_id', by_status) }} as survivor_customer_id,
        {{ ordered_first('keyed.customer_type', verified) }} as customer_type,
        {{ ordered_first('keyed.full_name', verified, where='keyed.full_name is not null') }} as full_name,
        {{ ordered_first('keyed.birth_date', verified, where='keyed.birth_date is not null') }} as birth_date,
        {{ ordered_first('keyed.gender', verified, where='keyed.gender is not null') }} as gender,
        {{ ordered_first('keyed.city', latest, where='keyed.city is not null') }} as city,
        {{ ordered_first('keyed.region', latest, where='keyed.region is not null') }} as region,
        {{ ordered_first('keyed.home_branch_id', by_status) }} as home_branch_id,
        {{ ordered_first('keyed.rm_id', by_status, where='keyed.rm_id is not null') }} as rm_id,
        {{ ordered_first('keyed.kyc_risk_rating', ['keyed.kyc_rank desc', 'keyed.customer_id asc']) }}
            as kyc_risk_rating,
        min(keyed.onboarding_date) as onboarding_date,
        {{ ordered_first('keyed.status', ['keyed.status_rank', 'keyed.customer_id']) }} as status,
        count(*) as n_source_records,
        max(keyed._load_id) as load_id
    from keyed
    group by keyed.customer_key, keyed.snapshot_date

)

select * from unified
