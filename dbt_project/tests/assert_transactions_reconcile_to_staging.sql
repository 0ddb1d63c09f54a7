-- A failure means fct_transactions does not hold exactly the ledger the core system
-- delivered: postings were lost or doubled between staging and the mart (a bad join, say),
-- so every balance, fee and profitability figure built on it is wrong for those days.
-- Returns the posting dates whose count or sum of amounts differs.
with staged as (

    select
        transactions.posting_date,
        count(*) as n_postings,
        sum(transactions.amount) as total_amount
    from {{ ref('stg_core_banking__transactions') }} as transactions
    group by transactions.posting_date

),

published as (

    select
        transactions.posting_date,
        count(*) as n_postings,
        sum(transactions.amount) as total_amount
    from {{ ref('fct_transactions') }} as transactions
    group by transactions.posting_date

)

select
    coalesce(staged.posting_date, published.posting_date) as posting_date,
    staged.n_postings as staged_postings,
    published.n_postings as published_postings,
    staged.total_amount as staged_amount,
    published.total_amount as published_amount
from staged
full outer join published
    on staged.posting_date = published.posting_date
where
    staged.n_postings is distinct from published.n_postings
    or staged.total_amount is distinct from published.total_amount
