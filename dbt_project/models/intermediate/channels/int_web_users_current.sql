-- The last known state of every online-banking user: its row from the latest snapshot it appears in.
-- A record that has left the latest snapshot keeps its last state (is_in_latest_snapshot is
-- false), so facts that still reference it keep their dimension.
with web_users as (

    select * from {{ ref('stg_online_banking__users') }}

),

latest_state as (

    select
        web_users.*,
        web_users.snapshot_date = max(web_users.snapshot_date) over ()
            as is_in_latest_snapshot
    from web_users
    qualify
        row_number() over (
            partition by web_users.user_id
            order by web_users.snapshot_date desc
        ) = 1

)

select * from latest_state
