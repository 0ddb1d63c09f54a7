with source as (

    select * from {{ source('core_banking', 'accounts') }}

),

renamed as (

    select
        cast(source.account_id as {{ string_type() }}) as account_id,
        cast(source.customer_id as {{ string_type() }}) as primary_customer_id,
        cast(source.product_code as {{ string_type() }}) as product_code,
        cast(source.branch_id as {{ string_type() }}) as branch_id,
        cast(source.currency as {{ string_type() }}) as currency,
        cast(source.open_date as date) as open_date,
        cast(source.maturity_date as date) as maturity_date,
        cast(source.close_date as date) as close_date,
        cast(source.status as {{ string_type() }}) as status,
        cast(source.interest_rate as decimal(18, 4)) as interest_rate_pct,
        cast(source.credit_limit as decimal(18, 4)) as credit_limit,
        cast(source.rm_id as {{ string_type() }}) as rm_id,
        cast(source.updated_at as {{ timestamptz_type() }}) as updated_at,
        cast(source._business_date as date) as snapshot_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
