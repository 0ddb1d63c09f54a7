-- The last known state of every contact-centre agent: its row from the latest snapshot it appears in.
-- A record that has left the latest snapshot keeps its last state (is_in_latest_snapshot is
-- false), so facts that still reference it keep their dimension.
with agents as (

    select * from {{ ref('stg_call_center__agents') }}

),

latest_state as (

    select
        agents.*,
        agents.snapshot_date = max(agents.snapshot_date) over ()
            as is_in_latest_snapshot
    from agents
    qualify
        row_number() over (
            partition by agents.agent_id
            order by agents.snapshot_date desc
        ) = 1

)

select * from latest_state
