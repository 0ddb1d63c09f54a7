with source as (

    select * from {{ source('core_banking', 'transactions') }}

),

renamed as (

    select
        cast(source.txn_id as {{ string_type() }}) as txn_id,
        cast(source.account_id as {{ string_type() }}) as account_id,
        cast(source.posting_date as date) as posting_date,
        cast(source.txn_ts as {{ timestamptz_type() }}) as txn_ts,
        cast(source.amount as decimal(18, 4)) as amount,
        cast(source.currency as {{ string_type() }}) as currency,
        cast(source.txn_type as {{ string_type() }}) as txn_type,
        cast(source.channel as {{ string_type() }}) as channel,
        cast(source.branch_id as {{ string_type() }}) as branch_id,
        cast(source.counterparty_account as {{ string_type() }}) as counterparty_account,
        cast(source.counterparty_bank as {{ string_type() }}) as counterparty_bank,
        cast(source.description as {{ string_type() }}) as description,
        cast(source.reversed_txn_id as {{ string_type() }}) as reversed_txn_id,
        cast(source.balance_after as decimal(18, 4)) as balance_after,
        cast(source._business_date as date) as business_date,
        source._load_id,
        source._source_file
    from source

)

select * from renamed
