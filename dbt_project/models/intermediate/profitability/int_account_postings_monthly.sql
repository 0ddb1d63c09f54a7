-- What an account's postings earned and cost in a month (by posting_date):
--   fee_income:           minus the FEE postings that were not reversed (positive)
--   card_purchase_amount: minus the CARD_PURCHASE postings that were not reversed (positive);
--                         interchange on it is imputed later into other_income
--   posting_cost:         every posting (reversals included) at the unit cost of its channel
-- A fee reversed on a later day is removed from the month the fee was booked in.
--
-- Incremental by month (macros/incremental.sql, strategy replace_tail): a night builds every
-- account's months from the month of the earliest posting date that loads newer than this
-- table's watermark (as_of_load_id) brought, and, from that month on, every account with an
-- earlier month whose reversed postings are no longer those its row was built with
-- (`reversed_fingerprint`: a reversal delivered days later, or withdrawn by a corrected
-- delivery, changes the fee income of the month the reversed posting was booked in).
{#- On Spark partitioned by month_start (incremental_by_tail), and the night's restart CTEs computed
    once (computed_once): macros/engines.sql. -#}
{%- set output_columns = [
    'account_id', 'month_start', 'n_postings', 'fee_income', 'card_purchase_amount', 'posting_cost',
    'reversed_fingerprint', 'rebuilt_from', 'as_of_load_id',
] %}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_tail('account_id', 'month_start'),
    )
}}

with {% call computed_once(['restart', 'rebuilt_accounts']) -%}
transactions as (

    select * from {{ ref('stg_core_banking__transactions') }}

),

reversed_transactions as (

    select * from {{ ref('int_transactions_reversed') }}

),

unit_costs as (

    select * from {{ ref('unit_costs_per_posting') }}

),

{% if is_incremental() %}
    restart as (

        select
            cast(
                date_trunc(
                    'month',
                    {{
                        reprocess_from(
                            ref('stg_core_banking__transactions'), 'posting_date', 'as_of_load_id', system='core_banking'
                        )
                    }}
                ) as date
            ) as restart_date

    ),

    -- the reversed postings of the months before the restart, as they are now
    reversed_before_restart as (

        select
            transactions.account_id,
            cast(date_trunc('month', transactions.posting_date) as date) as month_start,
            md5({{ ordered_string_agg('transactions.txn_id', "'|'", 'transactions.txn_id') }}) as reversed_fingerprint
        from transactions
        inner join reversed_transactions
            on transactions.txn_id = reversed_transactions.txn_id
        cross join restart
        where transactions.posting_date < restart.restart_date
        group by transactions.account_id, cast(date_trunc('month', transactions.posting_date) as date)

    ),

    -- and as the rows of those months were built with them
    kept_reversed as (

        select
            kept.account_id,
            kept.month_start,
            kept.reversed_fingerprint
        from {{ this }} as kept
        cross join restart
        where
            kept.month_start < restart.restart_date
            and kept.reversed_fingerprint is not null

    ),

    rebuilt_accounts as (

        select
            coalesce(reversed_before_restart.account_id, kept_reversed.account_id) as account_id,
            min(coalesce(reversed_before_restart.month_start, kept_reversed.month_start)) as rebuilt_from
        from reversed_before_restart
        full outer join kept_reversed
            on
                reversed_before_restart.account_id = kept_reversed.account_id
                and reversed_before_restart.month_start = kept_reversed.month_start
        where reversed_before_restart.reversed_fingerprint is distinct from kept_reversed.reversed_fingerprint
        group by coalesce(reversed_before_restart.account_id, kept_reversed.account_id)

    ),
{% else %}
    {{ full_refresh_restart() }}
{% endif %}
{%- endcall %}

postings as (

    select
        transactions.account_id,
        transactions.txn_id,
        cast(date_trunc('month', transactions.posting_date) as date) as month_start,
        coalesce(rebuilt_accounts.rebuilt_from, restart.restart_date) as rebuilt_from,
        transactions.txn_type,
        transactions.amount,
        transactions._load_id,
        reversed_transactions.txn_id is not null as is_reversed,
        coalesce(unit_costs.cost_per_posting, 0) as cost_per_posting
    from transactions
    cross join restart
    left join rebuilt_accounts
        on transactions.account_id = rebuilt_accounts.account_id
    left join reversed_transactions
        on transactions.txn_id = reversed_transactions.txn_id
    left join unit_costs
        on transactions.channel = unit_costs.channel
    where
        transactions.posting_date >= restart.restart_date
        or transactions.posting_date >= rebuilt_accounts.rebuilt_from

),

watermark as (

    -- with the night's load even if it brought no posting (a re-delivery that withdrew a date's)
    select greatest(max(postings._load_id), {{ newer_load_id('core_banking') }}) as as_of_load_id
    from postings

),

monthly as (

    select
        postings.account_id,
        postings.month_start,
        count(*) as n_postings,
        -- (sums of decimals as DuckDB types them: Spark's have 10 more digits than their terms)
        cast(
            coalesce(
                -sum(postings.amount) filter (where postings.txn_type = 'FEE' and not postings.is_reversed), 0
            ) as decimal(38, 4)
        ) as fee_income,
        cast(
            coalesce(
                -sum(postings.amount) filter (
                    where postings.txn_type = 'CARD_PURCHASE' and not postings.is_reversed
                ),
                0
            ) as decimal(38, 4)
        ) as card_purchase_amount,
        cast(sum(postings.cost_per_posting) as decimal(38, 4)) as posting_cost,
        -- lineage of the incremental build: the postings found reversed, and the month the
        -- account was rebuilt from
        md5(
            {{
                ordered_string_agg('postings.txn_id', "'|'", 'postings.txn_id', where='postings.is_reversed')
            }}
        )
            as reversed_fingerprint,
        min(postings.rebuilt_from) as rebuilt_from
    from postings
    group by postings.account_id, postings.month_start

),

final as (

    select
        monthly.*,
        watermark.as_of_load_id
    from monthly
    cross join watermark

)

select * from final
{{ replace_tail_markers(output_columns) }}
