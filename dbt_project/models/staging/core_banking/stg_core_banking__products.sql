with source as (

    select * from {{ source('core_banking', 'products') }}

),

renamed as (

    select
        cast(source.product_code as {{ string_type() }}) as product_code,
        cast(source.product_name as {{ string_type() }}) as product_name,
        cast(source.product_family as {{ string_type() }}) as product_family,
        cast(source.product_type as {{ string_type() }}) as product_type,
        cast(source.balance_side as {{ string_type() }}) as balance_side,
        cast(source.term_months as bigint) as term_months,
        cast(source.launched_date as date) as launched_date,
        cast(source._business_date as date) as snapshot_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
