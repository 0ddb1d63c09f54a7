with rm_periods as (

    select * from {{ ref('int_customer_rm_periods') }}

),

final as (

    select
        rm_periods.customer_key,
        rm_periods.rm_id,
        rm_periods.valid_from,
        rm_periods.valid_to,
        rm_periods.credit_share
    from rm_periods

)

select * from final
