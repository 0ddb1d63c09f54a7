-- SALARY_STOPPED: a customer whose salary (or pension: the ledger books both as txn_type
-- SALARY) was credited here had none for var salary_missed_days days after the last one.
-- The event is dated the day the gap reaches var salary_missed_days, once the ledger covers
-- that day. The customer must have had at least var salary_min_credits credits up to the
-- last one. measured_value is what came in the gap (0), baseline_value the average credit.
-- Severity 3.
-- The credits over the whole history come from int_salary_credits (a small table a night
-- extends), with their customer and reversal as they stand tonight: the rows
-- int_transactions_flagged gives the same postings, without reading the whole ledger.
with salary_credits as (

    select * from {{ ref('int_salary_credits') }}

),

reversed_transactions as (

    select * from {{ ref('int_transactions_reversed') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

-- how far the ledger reaches: the latest posting date of every delivered business date
last_posting_date as (

    select max(salary_credits.posting_date) as last_posting_date
    from salary_credits

),

salary_days as (

    select
        accounts.customer_key,
        salary_credits.posting_date,
        sum(salary_credits.amount) as salary_amount
    from salary_credits
    inner join accounts
        on salary_credits.account_id = accounts.account_id
    left join reversed_transactions
        on salary_credits.txn_id = reversed_transactions.txn_id
    where
        salary_credits.txn_id is not null
        and accounts.customer_key is not null
        and reversed_transactions.txn_id is null
    group by accounts.customer_key, salary_credits.posting_date

),

with_next as (

    select
        salary_days.*,
        lead(salary_days.posting_date) over (
            partition by salary_days.customer_key order by salary_days.posting_date
        ) as next_salary_date,
        count(*) over (
            partition by salary_days.customer_key order by salary_days.posting_date
        ) as n_credits,
        avg(salary_days.salary_amount) over (
            partition by salary_days.customer_key order by salary_days.posting_date
        ) as average_salary
    from salary_days

),

final as (

    select
        with_next.customer_key,
        cast(null as {{ string_type() }}) as account_id,
        with_next.posting_date + {{ var('salary_missed_days') }} as event_date,
        'SALARY_STOPPED' as event_type,
        3 as severity,
        cast(0 as decimal(18, 2)) as measured_value,
        cast(with_next.average_salary as decimal(18, 2)) as baseline_value
    from with_next
    cross join last_posting_date
    where
        with_next.n_credits >= {{ var('salary_min_credits') }}
        and with_next.posting_date + {{ var('salary_missed_days') }} <= last_posting_date.last_posting_date
        and (
            with_next.next_salary_date is null
            or with_next.next_salary_date > with_next.posting_date + {{ var('salary_missed_days') }}
        )

)

select * from final
