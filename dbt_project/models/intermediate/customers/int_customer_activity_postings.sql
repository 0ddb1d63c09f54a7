-- Customer-initiated postings per customer and channel (REVERSAL postings left out) over the
-- two windows of customer_360 ending on the as-of date (int_customer_as_of): the short one
-- (var postings_short_window_days, the *_30d columns) and the long one (var
-- postings_long_window_days, the *_90d columns).
{% set short_days = var('postings_short_window_days') %}
{% set long_days = var('postings_long_window_days') %}
with transactions as (

    select * from {{ ref('int_transactions_flagged') }}

),

as_of as (

    select * from {{ ref('int_customer_as_of') }}

),

in_window as (

    select
        transactions.customer_key,
        transactions.channel,
        transactions.posting_date > as_of.as_of_date - {{ short_days }} as is_in_short_window,
        transactions.posting_date > as_of.as_of_date - {{ long_days }} as is_in_long_window
    from transactions
    cross join as_of
    where
        transactions.customer_key is not null
        and not transactions.is_reversal
        and transactions.posting_date > as_of.as_of_date - {{ [short_days, long_days] | max }}
        and transactions.posting_date <= as_of.as_of_date

),

final as (

    select
        in_window.customer_key,
        count(*) filter (where in_window.channel = 'BRANCH' and in_window.is_in_short_window)
            as branch_txns_short_window,
        count(*) filter (where in_window.channel = 'BRANCH' and in_window.is_in_long_window)
            as branch_txns_long_window,
        count(*) filter (where in_window.channel = 'ATM' and in_window.is_in_short_window)
            as atm_txns_short_window,
        count(*) filter (where in_window.channel = 'ATM' and in_window.is_in_long_window)
            as atm_txns_long_window,
        count(*) filter (where in_window.channel in ('ONLINE', 'MOBILE') and in_window.is_in_short_window)
            as digital_txns_short_window,
        count(*) filter (where in_window.channel in ('ONLINE', 'MOBILE') and in_window.is_in_long_window)
            as digital_txns_long_window,
        count(*) filter (where in_window.channel = 'POS' and in_window.is_in_short_window)
            as pos_txns_short_window,
        count(*) filter (where in_window.channel = 'POS' and in_window.is_in_long_window)
            as pos_txns_long_window
    from in_window
    group by in_window.customer_key

)

select * from final
