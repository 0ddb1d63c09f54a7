with source as (

    select * from {{ source('core_banking', 'loans') }}

),

renamed as (

    select
        cast(source.business_date as date) as business_date,
        cast(source.account_id as {{ string_type() }}) as account_id,
        cast(source.principal_amount as decimal(18, 4)) as principal_amount,
        cast(source.outstanding_principal as decimal(18, 4)) as outstanding_principal,
        cast(source.interest_rate as decimal(18, 4)) as interest_rate_pct,
        cast(source.disbursement_date as date) as disbursement_date,
        cast(source.maturity_date as date) as maturity_date,
        cast(source.repayment_frequency as {{ string_type() }}) as repayment_frequency,
        cast(source.days_past_due as bigint) as days_past_due,
        cast(source.classification as {{ string_type() }}) as classification,
        cast(source.collateral_type as {{ string_type() }}) as collateral_type,
        cast(source.collateral_value as decimal(18, 4)) as collateral_value,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
