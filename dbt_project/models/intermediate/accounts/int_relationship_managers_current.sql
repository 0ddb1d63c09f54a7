-- The last known state of every relationship manager: its row from the latest snapshot it appears in.
-- A record that has left the latest snapshot keeps its last state (is_in_latest_snapshot is
-- false), so facts that still reference it keep their dimension.
with relationship_managers as (

    select * from {{ ref('stg_core_banking__relationship_managers') }}

),

latest_state as (

    select
        relationship_managers.*,
        relationship_managers.snapshot_date = max(relationship_managers.snapshot_date) over ()
            as is_in_latest_snapshot
    from relationship_managers
    qualify
        row_number() over (
            partition by relationship_managers.rm_id
            order by relationship_managers.snapshot_date desc
        ) = 1

)

select * from latest_state
