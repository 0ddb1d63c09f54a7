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
-- On an incremental night (macros/night_tests.sql) it judges the account-days from the night's
-- first date on: the earliest date of the night's balance rows and postings (and of any posting
-- dated before its delivery from the postings' restart on). Every account-day before that date
-- has the inputs the earlier nights' gates judged. Each judged account starts from its opening:
-- its last balance before that date, with the postings since; the share tolerance is over the
-- account-days judged, as the feed gate's is over its deliveries' (docs/quality.md).
{{ config(
    severity = gate_severity('end_of_day_balance'),
    fail_calc = 'count(*) filter (where is_beyond_share_tolerance)',
) }}
{%- set since = night_since() %}
{%- set scoped = since is not none %}
{%- if scoped %}
    {#- the night's first date and the last date before it, asked once and written into the test
        as dates: Spark inlines a CTE at each of its references, and computed there they cost the
        test 12 s against 1 s on the test bank, where a date lets it read only the partitions it
        judges (on DuckDB the same two queries) -#}
    {%- set first_date = queried_date(
        'select cast(least('
        ~ night_first_date(ref('fct_account_balance_daily'), 'business_date', 'load_id', since)
        ~ ', (select min(restarted.posting_date) from ' ~ ref('fct_transactions') ~ ' as restarted'
        ~ ' where restarted.business_date >= '
        ~ night_first_date(ref('fct_transactions'), 'business_date', 'load_id', since)
        ~ ')) as string)'
    ) %}
    {%- set previous_date = queried_date(
        'select cast(max(business_date) as string) from ' ~ ref('fct_account_balance_daily')
        ~ ' where business_date < ' ~ first_date
    ) %}
{%- endif %}
{#- scoped, the facts are read in several places, each pruned to a few dates: not copied whole once -#}
{%- set reads = not_materialized() if scoped else '' %}

with balances as {{ reads }} (

    select * from {{ ref('fct_account_balance_daily') }}

),

transactions as {{ reads }} (

    select * from {{ ref('fct_transactions') }}

),

first_lake_date as (

    select min(balances.business_date) as first_date
    from balances

),

night_start as (

    {% if scoped -%}
        select {{ first_date }} as first_date
    {%- else -%}
        select date '0001-01-01' as first_date
    {%- endif %}

),

postings as (

    select
        transactions.account_id,
        transactions.posting_date,
        sum(transactions.amount) as posted_amount
    from transactions
    group by transactions.account_id, transactions.posting_date

),

judged_balances as (

    select balances.*
    from balances
    cross join night_start
    where balances.business_date >= night_start.first_date

),

{%- if scoped %}

previous_date as (

    select {{ previous_date }} as business_date

),

judged_accounts as (

    select distinct judged_balances.account_id
    from judged_balances

),

opening_on_previous_date as (

    select
        balances.account_id,
        balances.business_date,
        balances.ledger_balance
    from balances
    inner join previous_date on balances.business_date = previous_date.business_date
    inner join judged_accounts on balances.account_id = judged_accounts.account_id

),

accounts_without_previous_date as (

    select judged_accounts.account_id
    from judged_accounts
    anti join opening_on_previous_date on judged_accounts.account_id = opening_on_previous_date.account_id

),

opening_before_previous_date as (

    select
        balances.account_id,
        max(balances.business_date) as business_date,
        {{ arg_max('balances.ledger_balance', 'balances.business_date') }} as ledger_balance
    from balances
    inner join accounts_without_previous_date on balances.account_id = accounts_without_previous_date.account_id
    cross join previous_date
    where balances.business_date < previous_date.business_date
    group by balances.account_id

),

opening_balances as (

    select * from opening_on_previous_date
    union all
    select * from opening_before_previous_date

),

night_postings as (

    select
        transactions.account_id,
        transactions.posting_date,
        sum(transactions.amount) as posted_amount
    from transactions
    inner join judged_accounts on transactions.account_id = judged_accounts.account_id
    cross join previous_date
    where transactions.posting_date > coalesce(previous_date.business_date, date '0001-01-01')
    group by transactions.account_id, transactions.posting_date

    union all

    select
        transactions.account_id,
        transactions.posting_date,
        sum(transactions.amount) as posted_amount
    from transactions
    inner join accounts_without_previous_date
        on transactions.account_id = accounts_without_previous_date.account_id
    left join opening_before_previous_date
        on transactions.account_id = opening_before_previous_date.account_id
    cross join previous_date
    where
        transactions.posting_date <= previous_date.business_date
        and transactions.posting_date > coalesce(opening_before_previous_date.business_date, date '0001-01-01')
    group by transactions.account_id, transactions.posting_date

),
{%- endif %}

timeline as (

    select
        postings.account_id,
        postings.posting_date as event_date,
        0 as is_balance_row,
        postings.posted_amount,
        null as closing_balance
    from {{ 'night_postings' if scoped else 'postings' }} as postings

    {%- if scoped %}

    union all

    select
        opening_balances.account_id,
        opening_balances.business_date as event_date,
        1 as is_balance_row,
        0 as posted_amount,
        opening_balances.ledger_balance as closing_balance
    from opening_balances
    {%- endif %}

    union all

    select
        judged_balances.account_id,
        judged_balances.business_date as event_date,
        1 as is_balance_row,
        0 as posted_amount,
        judged_balances.ledger_balance as closing_balance
    from judged_balances

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
    cross join night_start
    where
        balance_rows.business_date >= night_start.first_date
        and not (
            balance_rows.opening_balance is null
            and balance_rows.business_date = first_lake_date.first_date
        )

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
