-- SCD type 2 of the unified customer: consecutive snapshot dates with the same tracked
-- attributes collapse into one version; a new version starts only when a tracked attribute
-- changes (a change and its undo are two versions). valid_to is the valid_from of the next
-- version (exclusive) and null on the current version. The first version starts on the
-- first snapshot date the warehouse holds, not on the customer's onboarding date.
-- Which record survives (survivor_customer_id) is not tracked: a new version needs a new value.
--
-- Incremental (macros/customer_history.sql), so that a night costs what it brings: a
-- customer's versions are recomputed only from the first day whose change alters its
-- sequence of days; the versions before stay. Versions are islands of equal days, so the
-- recomputation starts from a seed, the customer's last version that ends before the
-- restart, taken as one segment (a late undo can merge back into it), followed by the days
-- from the restart on; when the restart falls inside a version, its days are read again
-- from its start. A new snapshot date is a restart after every customer's last day: one
-- segment and one day per customer, the current version extended or a new one opened.
-- Customers whose records changed (merge, split, a record joining, a retired key) are
-- rebuilt from all their days. The strategy (replace_customer_tail) deletes each emitted
-- customer's versions from replace_from on and inserts the new ones.
-- load_id is the newest load at the build that last changed the version as
-- dim_customer_history shows it (a longer last_seen_date alone keeps it): the mart copies
-- only customers with a version of the newest load.
-- depends_on: {{ ref('int_customer_history_keys') }}
-- The tracked columns are customer_history_tracked() (macros/customer_history.sql). sqlfluff
-- lints every branch of the is_incremental() blocks as a variant and then
-- misreads the indentation of the CTEs and the alias of load_id in the full-refresh branch:
-- noqa: disable=LT02, AL03
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_customer_tail',
        on_schema_change='fail',
    )
}}
{#- On Spark, an incremental night's restart_points (read by the seeds, the days to read, the
    versions and the retired keys, and built from the table itself and the daily rows) are computed
    once (computed_once, macros/engines.sql); on DuckDB the CTEs are as written. -#}
{%- set changes = customer_history_changes() %}
{%- set read_bound = '9999-12-31' %}
{%- if execute and is_incremental() %}
    {#- The earliest day a restart can read (see restart_points), as a literal so that DuckDB
        skips the older row groups of the daily table: after a new date, that date. -#}
    {%- set bound = run_query(
        "select cast(least(coalesce(min(case when changed.snapshot_date > version_row.last_seen_date"
        ~ " then changed.snapshot_date else version_row.valid_from end), min(changed.snapshot_date)),"
        ~ " min(changed.snapshot_date)) as " ~ string_type() ~ ")"
        ~ " from " ~ ref('int_customer_history_dates') ~ " as changed"
        ~ " left join " ~ this ~ " as version_row on changed.snapshot_date >= version_row.valid_from"
        ~ " and changed.snapshot_date < coalesce(version_row.valid_to, date '9999-12-31')"
        ~ " where changed.is_changed"
    ).columns[0].values()[0] -%}
    {%- set read_bound = bound if bound is not none else read_bound %}
{%- endif %}

with {% call computed_once(['restart_points']) -%}
daily as (

    select * from {{ ref('int_customers_unified_daily') }}

),

history_dates as (

    select * from {{ ref('int_customer_history_dates') }}

),
{% if is_incremental() %}

history_keys as (

    select * from {{ ref('int_customer_history_keys') }}

),

previous_versions as (

    select * from {{ this }}

),

changed_dates as (

    select history_dates.snapshot_date
    from history_dates
    where history_dates.is_changed

),

rebuilt_keys as (

    select history_keys.customer_key
    from history_keys
    where history_keys.is_changed

),

days_on_changed_dates as (

    select daily.*
    from daily
    where daily.snapshot_date in (select changed_dates.snapshot_date from changed_dates)

),

covering_versions as (

    -- each customer's version that held a changed date before this build
    select
        changed_dates.snapshot_date as changed_date,
        previous_versions.*
    from changed_dates
    inner join previous_versions
        on
            changed_dates.snapshot_date >= previous_versions.valid_from
            and changed_dates.snapshot_date < coalesce(previous_versions.valid_to, date '9999-12-31')

),

changed_days as (

    -- A changed date alters a customer's days when its day there is new to the version that
    -- holds the date (after the version's last day, or before the customer's first version) or
    -- differs from it, or when the day is gone and was the version's first or last. A day gone
    -- from inside a version, or the same day again, changes no version.
    select
        coalesce(days_on_changed_dates.customer_key, covering_versions.customer_key) as customer_key,
        coalesce(days_on_changed_dates.snapshot_date, covering_versions.changed_date) as changed_date
    from days_on_changed_dates
    full outer join covering_versions
        on
            days_on_changed_dates.customer_key = covering_versions.customer_key
            and days_on_changed_dates.snapshot_date = covering_versions.changed_date
    where
        case
            when days_on_changed_dates.customer_key is null
                then covering_versions.changed_date in (covering_versions.valid_from, covering_versions.last_seen_date)
            when covering_versions.customer_key is null then true
            else
                days_on_changed_dates.snapshot_date > covering_versions.last_seen_date
                or {{ row_of(customer_history_tracked('days_on_changed_dates')) }}
                is distinct from {{ row_of(customer_history_tracked('covering_versions')) }}
        end

),

restart_dates as (

    select
        changed_days.customer_key,
        min(changed_days.changed_date) as restart_date
    from changed_days
    where changed_days.customer_key not in (select rebuilt_keys.customer_key from rebuilt_keys)
    group by changed_days.customer_key

),

restart_points as (

    -- Days are read from the restart date, or from the start of the version holding it when
    -- the restart falls on or before that version's last day; the version before is the seed.
    -- Rebuilt customers read all their days and have no seed.
    select
        restart_dates.customer_key,
        case
            when restart_dates.restart_date <= covering.last_seen_date then covering.valid_from
            else restart_dates.restart_date
        end as read_from,
        case
            when restart_dates.restart_date <= covering.last_seen_date then nullif(covering.version_number - 1, 0)
            else covering.version_number
        end as seed_version_number
    from restart_dates
    left join previous_versions as covering
        on
            restart_dates.customer_key = covering.customer_key
            and restart_dates.restart_date >= covering.valid_from
            and restart_dates.restart_date < coalesce(covering.valid_to, date '9999-12-31')
    union all
    select
        rebuilt_keys.customer_key,
        date '0001-01-01' as read_from,
        cast(null as integer) as seed_version_number
    from rebuilt_keys

),
{% else %}

restart_points as (

    select
        daily.customer_key,
        min(daily.snapshot_date) as read_from,
        cast(null as integer) as seed_version_number
    from daily
    group by daily.customer_key

),
{% endif %}
{%- endcall %}
{%- if is_incremental() %}
seeds as (

    select
        previous_versions.customer_key,
        previous_versions.valid_from as first_date,
        previous_versions.last_seen_date as last_date,
        {{ customer_history_tracked('previous_versions') }}
    from restart_points
    inner join previous_versions
        on
            restart_points.customer_key = previous_versions.customer_key
            and restart_points.seed_version_number = previous_versions.version_number

),

days_to_read as (

    select daily.*
    from daily
    inner join restart_points
        on
            daily.customer_key = restart_points.customer_key
            and daily.snapshot_date >= restart_points.read_from
    where
        daily.snapshot_date >= date '{{ read_bound }}'
        and restart_points.read_from > date '0001-01-01'
    {%- if changes.keys %}
        union all
        select daily.*
        from daily
        inner join rebuilt_keys
            on daily.customer_key = rebuilt_keys.customer_key
    {%- endif %}

),
{% else %}
seeds as (

    select
        daily.customer_key,
        daily.snapshot_date as first_date,
        daily.snapshot_date as last_date,
        {{ customer_history_tracked('daily') }}
    from daily
    where false

),

days_to_read as (

    select * from daily

),
{% endif %}

segments as (

    -- the seed and the days after it, each a run of days with one set of attributes (the
    -- seed's columns are the days' columns, in the same order)
    select * from seeds
    union all
    select
        days_to_read.customer_key,
        days_to_read.snapshot_date as first_date,
        days_to_read.snapshot_date as last_date,
        {{ customer_history_tracked('days_to_read') }}
    from days_to_read

),

change_flagged as (

    select
        segments.*,
        coalesce(
            {{ row_of(customer_history_tracked('segments')) }}
            is distinct from lag(
                {{ row_of(customer_history_tracked('segments')) }}
            ) over (partition by segments.customer_key order by segments.first_date),
            true
        ) as is_new_version
    from segments

),

numbered as (

    select
        change_flagged.*,
        cast(
            sum(cast(change_flagged.is_new_version as integer)) over (
                partition by change_flagged.customer_key
                order by change_flagged.first_date
                rows between unbounded preceding and current row
            ) as integer
        ) as island_number
    from change_flagged

),

islands as (

    select
        numbered.customer_key,
        numbered.island_number,
        min(numbered.first_date) as valid_from,
        max(numbered.last_date) as last_seen_date,
        {{ customer_history_tracked('numbered', first_by='numbered.first_date') }}
    from numbered
    group by numbered.customer_key, numbered.island_number

),

versions as (

    select
        islands.customer_key,
        cast(coalesce(restart_points.seed_version_number, 1) + islands.island_number - 1 as integer)
            as version_number,
        islands.valid_from,
        islands.last_seen_date,
        {{ customer_history_tracked('islands') }},
        lead(islands.valid_from) over customer_islands as valid_to,
        lead(islands.valid_from) over customer_islands is null as is_current,
        coalesce(seeds.first_date, restart_points.read_from) as replace_from
    from islands
    inner join restart_points
        on islands.customer_key = restart_points.customer_key
    left join seeds
        on islands.customer_key = seeds.customer_key
    window customer_islands as (partition by islands.customer_key order by islands.valid_from)

),

stamped as (

    select
        versions.customer_key,
        versions.version_number,
        versions.valid_from,
        versions.last_seen_date,
        {{ customer_history_tracked('versions') }},
        versions.valid_to,
        versions.is_current,
        {%- if is_incremental() %}
            case
                when {{ row_of(
                    'versions.version_number, versions.valid_to, versions.is_current, '
                    ~ customer_history_tracked('versions')
                ) }} is not distinct from {{ row_of(
                    'previous_versions.version_number, previous_versions.valid_to, previous_versions.is_current, '
                    ~ customer_history_tracked('previous_versions')
                ) }} then previous_versions.load_id
                else (select max(history_dates.load_id) from history_dates)
            end as load_id,
        {%- else %}
            (select max(history_dates.load_id) from history_dates) as load_id,
        {%- endif %}
        versions.replace_from
    from versions
    {%- if is_incremental() %}
        left join previous_versions
            on
                versions.customer_key = previous_versions.customer_key
                and versions.valid_from = previous_versions.valid_from
    {%- endif %}

),

final as (

    select * from stamped
    {%- if is_incremental() %}
        union all
        -- a customer left without versions from its restart on (a retired key): the strategy
        -- deletes its versions, nothing is inserted (its other columns null, of the table's types:
        -- a join that matches nothing)
        select
            restart_points.customer_key,
            no_version.version_number,
            no_version.valid_from,
            no_version.last_seen_date,
            {{ customer_history_tracked('no_version') }},
            no_version.valid_to,
            no_version.is_current,
            no_version.load_id,
            restart_points.read_from as replace_from
        from restart_points
        left join previous_versions as no_version
            on false
        where restart_points.customer_key not in (select stamped.customer_key from stamped)
    {%- endif %}

)

select * from final
