with source as (

    select * from {{ source('core_banking', 'customers') }}

),

renamed as (

    select
        cast(source.customer_id as {{ string_type() }}) as customer_id,
        cast(source.customer_type as {{ string_type() }}) as customer_type,
        cast(source.full_name as {{ string_type() }}) as full_name,
        cast(source.national_id as {{ string_type() }}) as national_id,
        cast(source.birth_date as date) as birth_date,
        cast(source.gender as {{ string_type() }}) as gender,
        cast(source.phone as {{ string_type() }}) as phone,
        cast(source.email as {{ string_type() }}) as email,
        cast(source.address as {{ string_type() }}) as address,
        cast(source.city as {{ string_type() }}) as city,
        cast(source.region as {{ string_type() }}) as region,
        cast(source.postal_code as {{ string_type() }}) as postal_code,
        cast(source.occupation as {{ string_type() }}) as occupation,
        cast(source.industry_code as {{ string_type() }}) as industry_code,
        cast(source.annual_income as decimal(18, 4)) as annual_income,
        cast(source.home_branch_id as {{ string_type() }}) as home_branch_id,
        cast(source.rm_id as {{ string_type() }}) as rm_id,
        cast(source.kyc_risk_rating as {{ string_type() }}) as kyc_risk_rating,
        cast(source.onboarding_date as date) as onboarding_date,
        cast(source.status as {{ string_type() }}) as status,
        cast(source.closed_date as date) as closed_date,
        cast(source.updated_at as {{ timestamptz_type() }}) as updated_at,
        cast(source._business_date as date) as snapshot_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
