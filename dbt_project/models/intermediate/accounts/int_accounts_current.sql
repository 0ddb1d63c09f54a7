-- The last known state of every account: its row from the latest snapshot it appears in.
-- A record that has left the latest snapshot keeps its last state (is_in_latest_snapshot is
-- false), so facts that still reference it keep their dimension.
with accounts as (

    select * from {{ ref('stg_core_banking__accounts') }}

),

latest_state as (

    select
        accounts.*,
        accounts.snapshot_date = max(accounts.snapshot_date) over ()
            as is_in_latest_snapshot
    from accounts
    qualify
        row_number() over (
            partition by accounts.account_id
            order by accounts.snapshot_date desc
        ) = 1

)

select * from latest_state
