-- A failure means the fee income reported in the profitability marts is not what the
-- ledger's FEE postings took from customers less the fees that were reversed: finance would
-- report fee revenue the books do not show. Compared per month, to the cent, against the
-- staged ledger (reversals found independently of the marts' own logic).
with ledger as (

    select * from {{ ref('stg_core_banking__transactions') }}

),

reversed_txn_ids as (

    select distinct ledger.reversed_txn_id as txn_id
    from ledger
    where
        ledger.txn_type = 'REVERSAL'
        and ledger.reversed_txn_id is not null

),

ledger_fees as (

    select
        cast(date_trunc('month', ledger.posting_date) as date) as month_start,
        round(-sum(ledger.amount), 2) as fee_income
    from ledger
    where
        ledger.txn_type = 'FEE'
        and ledger.txn_id not in (select reversed_txn_ids.txn_id from reversed_txn_ids)
    group by cast(date_trunc('month', ledger.posting_date) as date)

),

reported_fees as (

    select
        profitability.month_start,
        sum(profitability.fee_income) as fee_income
    from {{ ref('fct_account_profitability_monthly') }} as profitability
    group by profitability.month_start

)

select
    coalesce(ledger_fees.month_start, reported_fees.month_start) as month_start,
    ledger_fees.fee_income as ledger_fee_income,
    reported_fees.fee_income as reported_fee_income
from ledger_fees
full outer join reported_fees
    on ledger_fees.month_start = reported_fees.month_start
where coalesce(ledger_fees.fee_income, 0) != coalesce(reported_fees.fee_income, 0)
