-- Contact-centre and online-banking costs are incurred by customers, and the feeds do not
-- say which account a call or a session was about (int_service_contacts_costed). A
-- customer's month of call and session costs is therefore split over the accounts the
-- customer is primary holder of and that were on book that month, in proportion to each
-- account's average daily balance of the month (the balance-share driver: the accounts that
-- hold the relationship's money draw its service); equally when those balances are all
-- zero. The account with the largest share takes the rounding remainder, so the accounts
-- carry exactly the customer's cost. Costs of unattributed contacts and of customers with
-- no such account that month go to the unallocated pool (int_service_costs_unallocated_monthly).
--
-- Incremental by month (macros/incremental.sql, strategy replace_tail), rows equal to a full
-- refresh's. The shares are the customer's month's, so a night rebuilds whole customers: every
-- account's months from the latest rebuilt_from of what int_account_interest_monthly wrote
-- since this table's watermark (as_of_load_id), and, from an earlier month, every account of a
-- customer whose accounts interest wrote from earlier, whose month's call or session cost is
-- not the one its rows were built with (customer_call_cost, customer_session_cost: a late or
-- corrected delivery, a contact attributed to another customer), or whose accounts of a month
-- are not those its rows were built with (an account re-keyed to another customer, as a full
-- refresh gives every month the account's current customer). That check reads every month
-- before the restart of the accounts and costs (no window, no write): the part of a night
-- that still grows with history.
{#- On Spark partitioned by month_start (incremental_by_tail), and the night's restart CTEs computed
    once (computed_once): macros/engines.sql. -#}
{%- set output_columns = [
    'account_id', 'month_start', 'customer_key', 'call_cost', 'session_cost', 'customer_call_cost',
    'customer_session_cost', 'rebuilt_from', 'as_of_load_id',
] %}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_tail('account_id', 'month_start'),
    )
}}

with {% call computed_once(['restart', 'rebuilt_accounts']) -%}
contacts as (

    select * from {{ ref('int_service_contacts_costed') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

all_account_months as (

    select * from {{ ref('int_account_interest_monthly') }}

),

customer_costs as (

    select
        contacts.customer_key,
        contacts.month_start,
        coalesce(sum(contacts.cost) filter (where contacts.channel = 'CALL'), 0) as call_cost,
        coalesce(sum(contacts.cost) filter (where contacts.channel = 'WEB_SESSION'), 0) as session_cost
    from contacts
    where contacts.customer_key is not null
    group by contacts.customer_key, contacts.month_start

),

{% if is_incremental() %}
    kept_accounts as (

        select distinct
            kept.account_id,
            kept.customer_key
        from {{ this }} as kept

    ),

    -- what interest wrote since this table read it
    written as (

        select
            all_account_months.account_id,
            all_account_months.rebuilt_from
        from all_account_months
        where
            all_account_months.as_of_load_id
            > (select coalesce(max(kept.as_of_load_id), '') from {{ this }} as kept)

    ),

    restart as (

        select coalesce(max(written.rebuilt_from), date '9999-12-31') as restart_date
        from written

    ),

    -- the customer-months before the restart as a full refresh shares them now: the costs and
    -- the accounts that share them (their balances: what interest wrote, above)
    -- (the accounts' customers first: joined in one step with the costs, DuckDB may join
    -- interest and costs on the month alone, every account with every customer's month)
    on_book_before_restart as (

        select
            all_account_months.account_id,
            all_account_months.month_start,
            accounts.customer_key
        from all_account_months
        inner join accounts
            on all_account_months.account_id = accounts.account_id
        where
            all_account_months.month_start < (select restart.restart_date from restart)
            and accounts.customer_key is not null

    ),

    current_before_restart as (

        select
            on_book_before_restart.customer_key,
            on_book_before_restart.month_start,
            customer_costs.call_cost,
            customer_costs.session_cost,
            {{ ordered_string_agg('on_book_before_restart.account_id', "'|'", 'on_book_before_restart.account_id') }}
                as account_ids
        from on_book_before_restart
        inner join customer_costs
            on
                on_book_before_restart.customer_key = customer_costs.customer_key
                and on_book_before_restart.month_start = customer_costs.month_start
        group by
            on_book_before_restart.customer_key,
            on_book_before_restart.month_start,
            customer_costs.call_cost,
            customer_costs.session_cost

    ),

    -- and as this table's rows share them
    kept_before_restart as (

        select
            kept.customer_key,
            kept.month_start,
            kept.customer_call_cost,
            kept.customer_session_cost,
            {{ ordered_string_agg('kept.account_id', "'|'", 'kept.account_id') }} as account_ids
        from {{ this }} as kept
        cross join restart
        where kept.month_start < restart.restart_date
        group by
            kept.customer_key,
            kept.month_start,
            kept.customer_call_cost,
            kept.customer_session_cost

    ),

    rebuilt_customers as (

        select
            candidates.customer_key,
            min(candidates.rebuilt_from) as rebuilt_from
        from (
            -- interest rebuilt an account from earlier: its customers, now and then
            select
                accounts.customer_key,
                written.rebuilt_from
            from written
            inner join accounts
                on written.account_id = accounts.account_id
            union all
            select
                kept_accounts.customer_key,
                written.rebuilt_from
            from written
            inner join kept_accounts
                on written.account_id = kept_accounts.account_id
            union all
            -- a month's costs, or the accounts that share them, are not those of the rows: a late
            -- or corrected contact, a contact or an account attributed to another customer
            select
                coalesce(current_before_restart.customer_key, kept_before_restart.customer_key) as customer_key,
                coalesce(current_before_restart.month_start, kept_before_restart.month_start) as rebuilt_from
            from current_before_restart
            full outer join kept_before_restart
                on
                    current_before_restart.customer_key = kept_before_restart.customer_key
                    and current_before_restart.month_start = kept_before_restart.month_start
            where
                current_before_restart.call_cost is distinct from kept_before_restart.customer_call_cost
                or current_before_restart.session_cost is distinct from kept_before_restart.customer_session_cost
                or current_before_restart.account_ids is distinct from kept_before_restart.account_ids
        ) as candidates
        where candidates.customer_key is not null
        group by candidates.customer_key
        having min(candidates.rebuilt_from) < (select restart.restart_date from restart)

    ),

    rebuilt_accounts as (

        select
            customer_accounts.account_id,
            min(rebuilt_customers.rebuilt_from) as rebuilt_from
        from (
            select
                accounts.account_id,
                accounts.customer_key
            from accounts
            union
            select
                kept_accounts.account_id,
                kept_accounts.customer_key
            from kept_accounts
        ) as customer_accounts
        inner join rebuilt_customers
            on customer_accounts.customer_key = rebuilt_customers.customer_key
        group by customer_accounts.account_id

    ),
{% else %}
    {{ full_refresh_restart() }}
{% endif %}
{%- endcall %}

-- the months the night builds (whole customers: all the accounts of a customer's month)
account_months as (

    select
        all_account_months.*,
        coalesce(rebuilt_accounts.rebuilt_from, restart.restart_date) as rebuilt_from_month
    from all_account_months
    cross join restart
    left join rebuilt_accounts
        on all_account_months.account_id = rebuilt_accounts.account_id
    where
        all_account_months.month_start >= restart.restart_date
        or all_account_months.month_start >= rebuilt_accounts.rebuilt_from

),

watermark as (

    select max(all_account_months.as_of_load_id) as as_of_load_id
    from all_account_months

),

primary_accounts_on_book as (

    select
        account_months.account_id,
        account_months.month_start,
        account_months.rebuilt_from_month,
        accounts.customer_key,
        cast(coalesce(account_months.avg_balance, 0) as decimal(38, 6)) as avg_balance,
        sum(coalesce(account_months.avg_balance, 0)) over customer_month as customer_balance,
        count(*) over customer_month as n_customer_accounts,
        row_number() over (
            partition by accounts.customer_key, account_months.month_start
            order by coalesce(account_months.avg_balance, 0) desc, account_months.account_id
        ) as share_rank
    from account_months
    inner join accounts
        on account_months.account_id = accounts.account_id
    where accounts.customer_key is not null
    window customer_month as (partition by accounts.customer_key, account_months.month_start)

),

shared as (

    select
        primary_accounts_on_book.account_id,
        primary_accounts_on_book.month_start,
        primary_accounts_on_book.customer_key,
        primary_accounts_on_book.rebuilt_from_month,
        primary_accounts_on_book.share_rank,
        customer_costs.call_cost as customer_call_cost,
        customer_costs.session_cost as customer_session_cost,
        -- cost x balance / the customer's balance (equal shares when the balances are all 0)
        cast(
            case
                when primary_accounts_on_book.customer_balance > 0
                    then
                        {{
                            rounded_quotient(
                                'customer_costs.call_cost * primary_accounts_on_book.avg_balance',
                                'primary_accounts_on_book.customer_balance',
                                6,
                            )
                        }}
                else
                    {{
                        rounded_quotient(
                            'customer_costs.call_cost', 'primary_accounts_on_book.n_customer_accounts', 6
                        )
                    }}
            end as decimal(38, 6)
        ) as call_share,
        cast(
            case
                when primary_accounts_on_book.customer_balance > 0
                    then
                        {{
                            rounded_quotient(
                                'customer_costs.session_cost * primary_accounts_on_book.avg_balance',
                                'primary_accounts_on_book.customer_balance',
                                6,
                            )
                        }}
                else
                    {{
                        rounded_quotient(
                            'customer_costs.session_cost', 'primary_accounts_on_book.n_customer_accounts', 6
                        )
                    }}
            end as decimal(38, 6)
        ) as session_share
    from primary_accounts_on_book
    inner join customer_costs
        on
            primary_accounts_on_book.customer_key = customer_costs.customer_key
            and primary_accounts_on_book.month_start = customer_costs.month_start

),

final as (

    select
        shared.account_id,
        shared.month_start,
        shared.customer_key,
        cast(
            case
                when shared.share_rank = 1
                    then
                        shared.customer_call_cost
                        - coalesce(sum(shared.call_share) over other_accounts, 0)
                else shared.call_share
            end as decimal(38, 6)
        ) as call_cost,
        cast(
            case
                when shared.share_rank = 1
                    then
                        shared.customer_session_cost
                        - coalesce(sum(shared.session_share) over other_accounts, 0)
                else shared.session_share
            end as decimal(38, 6)
        ) as session_cost,
        -- lineage of the incremental build: the customer's costs shared, the month rebuilt from
        shared.customer_call_cost,
        shared.customer_session_cost,
        shared.rebuilt_from_month as rebuilt_from,
        watermark.as_of_load_id
    from shared
    cross join watermark
    window other_accounts as (
        partition by shared.customer_key, shared.month_start
        order by shared.share_rank
        rows between 1 following and unbounded following
    )

)

select * from final
{{ replace_tail_markers(output_columns) }}
