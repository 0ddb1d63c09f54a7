-- The snapshot dates the customer history is built from, each with the load it came in, and
-- `is_changed` when that is news to this warehouse: a new date, or an older date re-delivered
-- (its snapshot replaced in the lake by a newer load). The table compares the lake with its
-- own previous state (the published warehouse a nightly build starts from), so it is the
-- ledger of what the history already holds: the incremental customer models rebuild exactly
-- the changed dates and nothing else (macros/customer_history.sql). A date that leaves the
-- lake stays one night as a changed row without a load, so that its days are deleted.
-- Cost: one scan of two columns of the customer snapshots (footers and statistics mostly).
-- On Spark the model is incremental and rewrites itself (self_reading_table, macros/engines.sql).
{{ config(self_reading_table()) }}
{%- set previous = adapter.get_relation(this.database, this.schema, this.identifier) if execute else none %}

with customer_snapshots as (

    select * from {{ ref('stg_core_banking__customers') }}

),

snapshot_loads as (

    select
        customer_snapshots.snapshot_date,
        max(customer_snapshots._load_id) as load_id
    from customer_snapshots
    group by customer_snapshots.snapshot_date

),

previous_loads as (

    {% if previous is not none and not should_full_refresh() %}
        select
            previous_ledger.snapshot_date,
            previous_ledger.load_id
        from {{ this }} as previous_ledger
        where previous_ledger.load_id is not null
    {% else %}
        select
            cast(null as date) as snapshot_date,
            cast(null as {{ string_type() }}) as load_id
        where false
    {% endif %}

),

final as (

    select
        coalesce(snapshot_loads.snapshot_date, previous_loads.snapshot_date) as snapshot_date,
        snapshot_loads.load_id,
        (snapshot_loads.load_id is distinct from previous_loads.load_id) as is_changed
    from snapshot_loads
    full outer join previous_loads
        on snapshot_loads.snapshot_date = previous_loads.snapshot_date

)

select * from final
