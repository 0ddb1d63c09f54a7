-- Every posting of the ledger. is_reversal marks the REVERSAL postings; is_reversed marks
-- the postings that a reversal cancelled, on whatever later day that reversal arrived.
-- Incremental by business date (macros/incremental.sql); the post-hooks mark postings of
-- earlier nights that a new reversal cancelled, and re-key customers that were merged.
-- depends_on: {{ ref('int_transactions_reversed') }} (post-hooks)
-- depends_on: {{ ref('int_accounts_resolved') }} (post-hooks)
{# On Spark partitioned by business_date, a night overwriting the partitions of its dates
   (incremental_by_date, macros/engines.sql), and those of the earlier postings a new reversal
   cancelled (refresh_reversals, macros/incremental.sql). -#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_withdrawn_rows('core_banking', ref('int_transactions_flagged'), 'business_date', 'business_date') }}",
        ],
        post_hook=[
            "{{ refresh_reversals() }}",
            "{{ refresh_customer_keys(ref('int_accounts_resolved'), 'account_id', 'account_id') }}",
        ],
        **incremental_by_date('business_date'),
    )
}}

with transactions as (

    select * from {{ ref('int_transactions_flagged') }}
    {% if is_incremental() %}
        where business_date >= {{ reprocess_from(ref('int_transactions_flagged'), 'business_date', system='core_banking') }}
    {% endif %}

),

final as (

    select
        transactions.txn_id,
        transactions.account_id,
        transactions.customer_key,
        transactions.posting_date,
        transactions.txn_ts,
        transactions.amount,
        transactions.currency,
        transactions.txn_type,
        transactions.channel,
        transactions.branch_id,
        transactions.counterparty_account,
        transactions.counterparty_bank,
        transactions.description,
        transactions.is_reversal,
        transactions.is_reversed,
        transactions.reversed_txn_id,
        transactions.reversed_by_txn_id,
        transactions.reversed_on,
        transactions.balance_after,
        transactions.business_date,
        transactions._source_file as source_file,
        transactions._load_id as load_id
    from transactions

)

select * from final
