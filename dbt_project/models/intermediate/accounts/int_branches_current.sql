-- The last known state of every branch: its row from the latest snapshot it appears in.
-- A record that has left the latest snapshot keeps its last state (is_in_latest_snapshot is
-- false), so facts that still reference it keep their dimension.
with branches as (

    select * from {{ ref('stg_core_banking__branches') }}

),

latest_state as (

    select
        branches.*,
        branches.snapshot_date = max(branches.snapshot_date) over ()
            as is_in_latest_snapshot
    from branches
    qualify
        row_number() over (
            partition by branches.branch_id
            order by branches.snapshot_date desc
        ) = 1

)

select * from latest_state
