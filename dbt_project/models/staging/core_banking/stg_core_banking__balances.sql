with source as (

    select * from {{ source('core_banking', 'balances') }}

),

renamed as (

    select
        cast(source.business_date as date) as business_date,
        cast(source.account_id as {{ string_type() }}) as account_id,
        cast(source.currency as {{ string_type() }}) as currency,
        cast(source.ledger_balance as decimal(18, 4)) as ledger_balance,
        cast(source.available_balance as decimal(18, 4)) as available_balance,
        cast(source.accrued_interest as decimal(18, 4)) as accrued_interest,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
