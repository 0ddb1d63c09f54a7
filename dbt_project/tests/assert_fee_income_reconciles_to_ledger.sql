-- A failure means the fee income reported in a profitability mart (accounts, customers,
-- products, branches, relationship managers, segments or the bank) is not what the ledger's
-- FEE postings took from customers less the fees that were reversed: finance would report
-- fee revenue the books do not show. Every mart is compared per month, to the cent, against
-- the staged ledger (reversals found independently of the marts' own logic), so a roll-up
-- that loses or doubles accounts fails here as well as a wrong account figure.
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

    {{ profitability_marts_monthly_sum('fee_income') }}

),

views as (

    select distinct reported_fees.view_name
    from reported_fees

),

compared as (

    select
        views.view_name,
        ledger_fees.month_start,
        ledger_fees.fee_income
    from ledger_fees
    cross join views

)

select
    coalesce(compared.view_name, reported_fees.view_name) as view_name,
    coalesce(compared.month_start, reported_fees.month_start) as month_start,
    compared.fee_income as ledger_fee_income,
    reported_fees.fee_income as reported_fee_income
from compared
full outer join reported_fees
    on
        compared.view_name = reported_fees.view_name
        and compared.month_start = reported_fees.month_start
where coalesce(compared.fee_income, 0) != coalesce(reported_fees.fee_income, 0)
