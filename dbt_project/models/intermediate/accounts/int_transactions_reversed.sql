-- Which postings have been reversed, whatever day the reversal arrived on: one row per
-- reversed posting, with the (first) reversal that cancelled it.
with transactions as (

    select * from {{ ref('stg_core_banking__transactions') }}

),

reversals as (

    select
        transactions.reversed_txn_id,
        transactions.txn_id,
        transactions.posting_date
    from transactions
    where
        transactions.txn_type = 'REVERSAL'
        and transactions.reversed_txn_id is not null

),

reversed as (

    select
        reversals.reversed_txn_id as txn_id,
        {{ ordered_first(
            'reversals.txn_id', ['reversals.posting_date', 'reversals.txn_id']
        ) }} as reversal_txn_id,
        min(reversals.posting_date) as reversed_on,
        count(*) as n_reversals
    from reversals
    group by reversals.reversed_txn_id

)

select * from reversed
