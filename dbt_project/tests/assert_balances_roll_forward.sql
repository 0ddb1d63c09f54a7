-- A failure means an account's end-of-day balance does not follow from the previous
-- delivered balance plus the postings booked in between: a posting is missing or doubled,
-- or the core sent inconsistent files. Balances, interest and the customer's view of the
-- account cannot be trusted on those days until the difference is explained.
-- The same fact as the feed gate's end_of_day_balance rule, with its severity and tolerances
-- (var gates, from the gates configuration): an account-day breaks when its difference is
-- beyond amount_tolerance, and the test fails (or warns) only when the breaking account-days
-- are more than share_tolerance of those judged. It returns every breaking account-day with
-- its difference (the run page sums them); `failures` counts them only beyond the share.
-- The roll-forward sums the postings: it assumes no order of a day's postings.
-- The first delivered balance of an account that existed before the first date in the lake
-- has no known opening balance and is not checked; an account opened later starts from zero.
{{ config(
    severity = gate_severity('end_of_day_balance'),
    fail_calc = 'count(*) filter (where is_beyond_share_tolerance)',
) }}

with balances as (

    select * from {{ ref('fct_account_balance_daily') }}

),

transactions as (

    select * from {{ ref('fct_transactions') }}

),

first_lake_date as (

    select min(balances.business_date) as first_date
    from balances

),

timeline as (

    select
        transactions.account_id,
        transactions.posting_date as event_date,
        0 as is_balance_row,
        sum(transactions.amount) as posted_amount,
        null as closing_balance
    from transactions
    group by transactions.account_id, transactions.posting_date

    union all

    select
        balances.account_id,
        balances.business_date as event_date,
        1 as is_balance_row,
        0 as posted_amount,
        balances.ledger_balance as closing_balance
    from balances

),

running as (

    select
        timeline.*,
        sum(timeline.posted_amount) over (
            partition by timeline.account_id
            order by timeline.event_date, timeline.is_balance_row
            rows between unbounded preceding and current row
        ) as cumulative_postings
    from timeline

),

balance_rows as (

    select
        running.account_id,
        running.event_date as business_date,
        running.closing_balance,
        running.cumulative_postings,
        lag(running.closing_balance) over account_balances as opening_balance,
        lag(running.cumulative_postings) over account_balances as cumulative_postings_at_opening
    from running
    where running.is_balance_row = 1
    window account_balances as (partition by running.account_id order by running.event_date)

),

judged as (

    select
        balance_rows.account_id,
        balance_rows.business_date,
        coalesce(balance_rows.opening_balance, 0) as opening_balance,
        balance_rows.cumulative_postings
        - coalesce(balance_rows.cumulative_postings_at_opening, 0) as postings,
        balance_rows.closing_balance
    from balance_rows
    cross join first_lake_date
    where
        not (balance_rows.opening_balance is null and balance_rows.business_date = first_lake_date.first_date)

),

breaks as (

    select
        judged.*,
        judged.closing_balance - (judged.opening_balance + judged.postings) as difference
    from judged
    where abs(judged.closing_balance - (judged.opening_balance + judged.postings))
        > {{ gate_amount_tolerance('end_of_day_balance') }}

),

account_days as (

    select count(*) as n_judged
    from judged

),

final as (

    select
        breaks.*,
        account_days.n_judged as judged_account_days,
        (
            count(*) over () > {{ gate_share_tolerance('end_of_day_balance') }} * account_days.n_judged
        ) as is_beyond_share_tolerance
    from breaks
    cross join account_days

)

select * from final
