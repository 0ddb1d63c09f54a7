-- What the feeds show later about a customer, for the leads' outcomes and suppression
-- (models/crm/leads.py): one row per customer, kind and day.
--   CONTACT: a call answered with the customer (call_center calls, either direction), or a
--     branch visit (a posting the customer made at a branch: channel BRANCH);
--   CONVERSION: a call ending in a SALE, or an account the customer opened;
--   OPEN_COMPLAINT: a complaint call not RESOLVED, open from its day for var
--     open_complaints_window_days (the feed carries no case closure: customer_360's rule).
-- The feeds carry no do-not-contact flag: no customer is suppressed for it (docs/crm.md).
-- delivered_date: the business date that delivered the fact: a call's, a posting's own date, an
-- account's opening day. A reader of a range of days bounds it too, from the feed gate's
-- impossible_dates slack earlier (customer_events_delivered_since, macros/crm_events.sql).
-- One row per customer, kind, day and delivery day.
with calls as (

    select * from {{ ref('int_calls_keyed') }}

),

postings as (

    select * from {{ ref('int_transactions_flagged') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

facts as (

    select
        calls.customer_key,
        'CONTACT' as fact_kind,
        calls.call_date as fact_date,
        calls.business_date as delivered_date
    from calls
    where calls.answered_at is not null
    union
    select
        postings.customer_key,
        'CONTACT' as fact_kind,
        postings.posting_date as fact_date,
        postings.posting_date as delivered_date
    from postings
    where postings.channel = 'BRANCH'
    union
    select
        calls.customer_key,
        'CONVERSION' as fact_kind,
        calls.call_date as fact_date,
        calls.business_date as delivered_date
    from calls
    where calls.outcome = 'SALE'
    union
    select
        accounts.customer_key,
        'CONVERSION' as fact_kind,
        accounts.open_date as fact_date,
        accounts.open_date as delivered_date
    from accounts
    union
    select
        calls.customer_key,
        'OPEN_COMPLAINT' as fact_kind,
        calls.call_date as fact_date,
        calls.business_date as delivered_date
    from calls
    where
        calls.complaint_flag
        and calls.outcome <> 'RESOLVED'

),

final as (

    select
        facts.customer_key,
        facts.fact_kind,
        facts.fact_date,
        facts.delivered_date,
        case
            when facts.fact_kind = 'OPEN_COMPLAINT'
                then facts.fact_date + {{ var('open_complaints_window_days') }}
        end as until_date
    from facts
    where facts.customer_key is not null

)

select * from final
