{#-
    The last known state of every record of a daily snapshot feed (a staging model with
    `snapshot_date` and the lake's `_load_id`) of the source system `system`: the record's row
    from the latest snapshot it appears in, and is_in_latest_snapshot (that snapshot is the
    latest delivered). A record that has left the latest snapshot keeps its last state, so facts
    that still reference it keep their dimension.

    Each record's latest snapshot date is found first, from the key and the date alone, and only
    those rows are read whole: ranking every snapshot's whole rows sorted the feed's whole
    history each night (int_accounts_current on the 100,000-customer bank's 5.7 M account
    snapshot rows: 3.7 s ranked, 0.2 s joined, the same rows; docs/performance.md). The rank
    that remains keeps one row per record, as before, should a snapshot hold a record twice
    (the feed gate's uniqueness check is the data team's to set to a warning).

    On DuckDB the table is incremental (current_state_config): a full refresh builds it so, a
    night merges into it what its loads changed (current_state_merged).
-#}
{% macro current_state(snapshots, key, system) -%}
{#- (the load audit, which a night reads, named whatever the build: dbt learns a model's sources
    when it parses the project, where is_incremental() is false) -#}
{%- set _ = source('lake_audit', 'loads') -%}
{%- if is_incremental() -%}
    {{ current_state_merged(snapshots, key, system) }}
{%- else -%}
with snapshots as (

    select * from {{ snapshots }}

),

latest_dates as (

    select
        snapshots.{{ key }},
        max(snapshots.snapshot_date) as snapshot_date
    from snapshots
    group by snapshots.{{ key }}

),

latest_delivery as (

    select max(latest_dates.snapshot_date) as snapshot_date
    from latest_dates

),

latest_state as (

    select
        snapshots.*,
        snapshots.snapshot_date = latest_delivery.snapshot_date as is_in_latest_snapshot
    from snapshots
    inner join latest_dates
        on
            snapshots.{{ key }} = latest_dates.{{ key }}
            and snapshots.snapshot_date = latest_dates.snapshot_date
    cross join latest_delivery
    -- rows of one record here share their date: the rank keeps any one (Spark's row_number
    -- needs an order)
    qualify
        row_number() over (
            partition by snapshots.{{ key }}
            order by snapshots.snapshot_date desc
        ) = 1

)

select * from latest_state
{%- endif -%}
{%- endmacro %}


{#-
    A night's current state, merged (DuckDB): reading every snapshot of the history each night
    made the current states grow with it (9 s a night more at a year of 10,000 customers than at
    a month, docs/performance.md). The night reads the rows of the loads newer than the latest
    this table holds (`_load_id`: DuckDB skips the older files' row groups by their statistics)
    and the table itself, and writes the records whose row or flag changed (delete+insert on the
    key):
    - a record in the newer rows takes its latest row among them and the row the table holds
      (a re-delivered older date does not replace a later state);
    - a record whose row the table holds from a date that a newer load delivered again (every
      feed of the system for that date is replaced: the load audit names the dates), and that
      the new delivery no longer holds on that date or later, was withdrawn from it: its state
      is found again among every snapshot, the only case that reads the history (counted first,
      so that a night without one does not scan it). A record found in no snapshot any more is
      deleted (a row with its key and no snapshot_date, which the post-hook removes);
    - a record whose flag changed: it left the latest snapshot, or the latest delivered date
      moved back (a re-delivery withdrew the latest date's rows).
    The rows are those a full refresh of the same lake gives (tests/test_loads.py, and the unit
    test of int_branches_current for each case).
-#}
{% macro current_state_merged(snapshots, key, system) -%}
{#- This table's latest load, and whether the night withdrew a record from its latest snapshot,
    asked before the model's query so that the newer rows are found by a constant (the Parquet
    statistics skip the other files) and the history is read only when needed. Not in a unit
    test, whose inputs exist only inside the model's query: there the history is always read. -#}
{%- set watermark = "(select coalesce(max(kept._load_id), '') from " ~ this ~ " as kept)" -%}
{%- set read_history = true -%}
{%- set asked = model_is_being_built() -%}
{%- if asked -%}
    {%- set watermark = "'" ~ run_query(watermark).columns[0].values()[0] ~ "'" -%}
{%- endif -%}
{%- set changed_dates -%}
    select distinct delivered.business_date
    from {{ source('lake_audit', 'loads') }} as delivered
    where
        delivered.outcome = 'LOADED'
        and delivered.system = '{{ system }}'
        and delivered.load_id > {{ watermark }}
{%- endset -%}
{%- set withdrawn -%}
    select kept.{{ key }}
    from {{ this }} as kept
    where
        kept.snapshot_date in ({{ changed_dates }})
        and not exists (
            select 1
            from {{ snapshots }} as newer
            where
                newer._load_id > {{ watermark }}
                and newer.{{ key }} = kept.{{ key }}
                and newer.snapshot_date >= kept.snapshot_date
        )
{%- endset -%}
{%- if asked -%}
    {%- set read_history = run_query("select count(*) from (" ~ withdrawn ~ ")").columns[0].values()[0] > 0 -%}
{%- endif %}
with kept as (

    select * from {{ this }}

),

changed_dates as (

    {{ changed_dates }}

),

newer as (

    select snapshots.*
    from {{ snapshots }} as snapshots
    where snapshots._load_id > {{ watermark }}

),

-- the records withdrawn from the latest snapshot the table holds them from
withdrawn as (

    {{ withdrawn }}

),

candidates as (

    select * from newer
    union all by name
    select kept.* exclude (is_in_latest_snapshot)
    from kept
    where not exists (
        select 1
        from changed_dates
        where changed_dates.business_date = kept.snapshot_date
    )
    {%- if read_history %}
        union all by name
        select snapshots.*
        from {{ snapshots }} as snapshots
        where snapshots.{{ key }} in (select withdrawn.{{ key }} from withdrawn)
    {%- endif %}

),

latest_delivery as (

    select max(candidates.snapshot_date) as snapshot_date
    from candidates

),

latest_state as (

    select
        candidates.*,
        candidates.snapshot_date = latest_delivery.snapshot_date as is_in_latest_snapshot
    from candidates
    cross join latest_delivery
    qualify
        row_number() over (
            partition by candidates.{{ key }}
            order by candidates.snapshot_date desc
        ) = 1

),

changed as (

    select * from latest_state
    except all
    select * from kept

),

gone as (

    -- withdrawn from every snapshot: deleted by its key, then the row itself (the post-hook)
    select withdrawn.{{ key }}
    from withdrawn
    where not exists (
        select 1
        from latest_state
        where latest_state.{{ key }} = withdrawn.{{ key }}
    )

)

select * from changed
union all by name
select * from gone
{%- endmacro %}


{#- The config of a current state: on DuckDB incremental, merged by key (current_state_merged),
    the post-hook removing the rows that only said a record is gone; on Spark a table rebuilt
    from every snapshot each night (its Parquet tables have no delete by key; docs/spark.md). -#}
{% macro current_state_config(key) -%}
    {{- return(adapter.dispatch('current_state_config', 'bankdw')(key)) -}}
{%- endmacro %}

{% macro default__current_state_config(key) -%}
    {{- return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': key,
        'on_schema_change': 'fail',
        'post_hook': ["delete from {{ this }} where snapshot_date is null"],
    }) -}}
{%- endmacro %}

{% macro spark__current_state_config(key) -%}
    {{- return({'materialized': 'table'}) -}}
{%- endmacro %}
