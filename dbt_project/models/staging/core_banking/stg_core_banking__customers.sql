with source as (

    select * from {{ source('core_banking', 'customers') }}

),

renamed as (

    select
        cast(source.customer_id as varchar) as customer_id,
        cast(source.customer_type as varchar) as customer_type,
        cast(source.full_name as varchar) as full_name,
        cast(source.national_id as varchar) as national_id,
        cast(source.birth_date as date) as birth_date,
        cast(source.gender as varchar) as gender,
        cast(source.phone as varchar) as phone,
        cast(source.email as varchar) as email,
        cast(source.address as varchar) as address,
        cast(source.city as varchar) as city,
        cast(source.region as varchar) as region,
        cast(source.postal_code as varchar) as postal_code,
        cast(source.occupation as varchar) as occupation,
        cast(source.industry_code as varchar) as industry_code,
        cast(source.annual_income as decimal(18, 4)) as annual_income,
        cast(source.home_branch_id as varchar) as home_branch_id,
        cast(source.rm_id as varchar) as rm_id,
        cast(source.kyc_risk_rating as varchar) as kyc_risk_rating,
        cast(source.onboarding_date as date) as onboarding_date,
        cast(source.status as varchar) as status,
        cast(source.closed_date as date) as closed_date,
        cast(source.updated_at as timestamptz) as updated_at,
        cast(source._business_date as date) as snapshot_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
