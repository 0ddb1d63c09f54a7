-- What an account's postings earned and cost in a month (by posting_date):
--   fee_income:           minus the FEE postings that were not reversed (positive)
--   card_purchase_amount: minus the CARD_PURCHASE postings that were not reversed (positive);
--                         interchange on it is imputed later into other_income
--   posting_cost:         every posting (reversals included) at the unit cost of its channel
-- A fee reversed on a later day is removed from the month the fee was booked in.
with transactions as (

    select * from {{ ref('stg_core_banking__transactions') }}

),

reversed_transactions as (

    select * from {{ ref('int_transactions_reversed') }}

),

unit_costs as (

    select * from {{ ref('unit_costs_per_posting') }}

),

postings as (

    select
        transactions.account_id,
        cast(date_trunc('month', transactions.posting_date) as date) as month_start,
        transactions.txn_type,
        transactions.amount,
        reversed_transactions.txn_id is not null as is_reversed,
        coalesce(unit_costs.cost_per_posting, 0) as cost_per_posting
    from transactions
    left join reversed_transactions
        on transactions.txn_id = reversed_transactions.txn_id
    left join unit_costs
        on transactions.channel = unit_costs.channel

),

monthly as (

    select
        postings.account_id,
        postings.month_start,
        count(*) as n_postings,
        coalesce(
            -sum(postings.amount) filter (where postings.txn_type = 'FEE' and not postings.is_reversed), 0
        ) as fee_income,
        coalesce(
            -sum(postings.amount) filter (
                where postings.txn_type = 'CARD_PURCHASE' and not postings.is_reversed
            ),
            0
        ) as card_purchase_amount,
        sum(postings.cost_per_posting) as posting_cost
    from postings
    group by postings.account_id, postings.month_start

)

select * from monthly
