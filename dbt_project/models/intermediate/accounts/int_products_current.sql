-- The last known state of every product: its row from the latest snapshot it appears in.
-- A record that has left the latest snapshot keeps its last state (is_in_latest_snapshot is
-- false), so facts that still reference it keep their dimension.
with products as (

    select * from {{ ref('stg_core_banking__products') }}

),

latest_state as (

    select
        products.*,
        products.snapshot_date = max(products.snapshot_date) over ()
            as is_in_latest_snapshot
    from products
    qualify
        row_number() over (
            partition by products.product_code
            order by products.snapshot_date desc
        ) = 1

)

select * from latest_state
