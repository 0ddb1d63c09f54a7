-- The last known state of every core customer record: its row from the latest snapshot it appears in.
-- A record that has left the latest snapshot keeps its last state (is_in_latest_snapshot is
-- false), so facts that still reference it keep their dimension.
with customers as (

    select * from {{ ref('stg_core_banking__customers') }}

),

latest_state as (

    select
        customers.*,
        customers.snapshot_date = max(customers.snapshot_date) over ()
            as is_in_latest_snapshot
    from customers
    qualify
        row_number() over (
            partition by customers.customer_id
            order by customers.snapshot_date desc
        ) = 1

)

select * from latest_state
