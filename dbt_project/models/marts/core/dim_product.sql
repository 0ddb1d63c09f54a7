with products as (

    select * from {{ ref('int_products_current') }}

),

final as (

    select
        products.product_code,
        products.product_name,
        products.product_family,
        products.product_type,
        products.balance_side,
        products.term_months,
        products.launched_date,
        products.is_in_latest_snapshot
    from products

)

select * from final
