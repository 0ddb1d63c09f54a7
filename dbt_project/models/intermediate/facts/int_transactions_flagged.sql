-- Every posting of the ledger with the account's unified customer: is_reversal marks the
-- REVERSAL postings; is_reversed marks the postings that a reversal cancelled, on whatever
-- later day that reversal arrived (int_transactions_reversed). A view (intermediate/facts/):
-- fct_transactions selects the new dates from it, customer_360's activity reads the window.
with transactions as (

    select * from {{ ref('stg_core_banking__transactions') }}

),

reversed_transactions as (

    select * from {{ ref('int_transactions_reversed') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

final as (

    select
        transactions.txn_id,
        transactions.account_id,
        accounts.customer_key,
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
        transactions.txn_type = 'REVERSAL' as is_reversal,
        reversed_transactions.txn_id is not null as is_reversed,
        transactions.reversed_txn_id,
        reversed_transactions.reversal_txn_id as reversed_by_txn_id,
        reversed_transactions.reversed_on,
        transactions.balance_after,
        transactions.business_date,
        transactions._source_file,
        transactions._load_id
    from transactions
    left join reversed_transactions
        on transactions.txn_id = reversed_transactions.txn_id
    left join accounts
        on transactions.account_id = accounts.account_id

)

select * from final
