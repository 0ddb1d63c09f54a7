-- Every account's month of profitability shared among its holders, one row per account,
-- holder and month: what customer profitability sums (int_customer_profitability_monthly),
-- by the same allocation weights that share balances in customer_360 and the bridge
-- (int_account_holders_weighted: PRIMARY and JOINT holders equally, AUTHORIZED users and
-- GUARANTORS nothing). An account the holder records do not cover is carried whole by its
-- primary holder. Each measure is shared to the cent and the primary holder (else the
-- first holder by customer_key) takes the rounding remainder, so the holders' shares add
-- up exactly to the account's figures and contribution and economic profit are formed from
-- the shared components as on the account.
--
-- Incremental by month (macros/incremental.sql, strategy replace_tail), rows equal to a full
-- refresh's: a night shares every account's months from the latest rebuilt_from of the rows
-- int_account_profitability_monthly wrote since this table's watermark
-- (profitability_built_in_run), the accounts it wrote from earlier from there, and every month
-- of an account whose holders or weights are not those its rows were shared by
-- (`holders_fingerprint`: a full refresh shares every month by today's).
{%- set shared_measures = [
    'avg_balance', 'risk_weighted_assets', 'allocated_capital', 'interest_income', 'interest_expense',
    'net_interest_income', 'fee_income', 'other_income', 'operating_cost', 'credit_cost', 'capital_charge',
] %}
{#- On Spark partitioned by month_start (incremental_by_tail, macros/engines.sql), and the night's
    restart and rebuilt_accounts computed once (computed_once, macros/engines.sql). The columns of
    the final select, in its order: the markers (replace_tail_markers) name them. -#}
{%- set output_columns = [
    'month_start', 'account_id', 'customer_key', 'primary_customer_key', 'allocation_weight', 'holder_rank',
    'product_code', 'balance_side',
] + shared_measures + [
    'is_complete_month', 'holders_fingerprint', 'rebuilt_from', 'contribution', 'economic_profit',
    'profitability_built_in_run',
] %}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_tail('account_id', 'month_start'),
    )
}}

with {% call computed_once(['restart', 'rebuilt_accounts']) -%}
all_account_profitability as (

    select * from {{ ref('int_account_profitability_monthly') }}

),

account_holders as (

    select * from {{ ref('int_account_holders_weighted') }}
    where allocation_weight > 0

),

account_holder_sets as (

    select
        account_holders.account_id,
        md5(
            {{
                ordered_string_agg(
                    "concat_ws(':', account_holders.customer_key, account_holders.allocation_weight)",
                    "'|'",
                    'account_holders.customer_key',
                )
            }}
        ) as holders_fingerprint
    from account_holders
    group by account_holders.account_id

),

{% if is_incremental() %}
    written as (

        select
            all_account_profitability.account_id,
            all_account_profitability.rebuilt_from
        from all_account_profitability
        where
            all_account_profitability.built_in_run
            > (select coalesce(max(kept.profitability_built_in_run), '') from {{ this }} as kept)

    ),

    restart as (

        select coalesce(max(written.rebuilt_from), date '9999-12-31') as restart_date
        from written

    ),

    rebuilt_accounts as (

        select
            candidates.account_id,
            min(candidates.rebuilt_from) as rebuilt_from
        from (
            select
                written.account_id,
                written.rebuilt_from
            from written
            union all
            select
                changed_holders.account_id,
                date '0001-01-01' as rebuilt_from
            from (
                {{ keys_with_changed_fingerprint('account_id', 'holders_fingerprint', 'account_holder_sets') }}
            ) as changed_holders
        ) as candidates
        group by candidates.account_id
        having min(candidates.rebuilt_from) < (select restart.restart_date from restart)

    ),
{% else %}
    {{ full_refresh_restart() }}
{% endif %}
{%- endcall %}

-- the months the night shares: from the restart on, and from earlier for the accounts rebuilt
account_profitability as (

    select
        all_account_profitability.*,
        coalesce(rebuilt_accounts.rebuilt_from, restart.restart_date) as shared_rebuilt_from,
        account_holder_sets.holders_fingerprint
    from all_account_profitability
    cross join restart
    left join rebuilt_accounts
        on all_account_profitability.account_id = rebuilt_accounts.account_id
    left join account_holder_sets
        on all_account_profitability.account_id = account_holder_sets.account_id
    where
        all_account_profitability.month_start >= restart.restart_date
        or all_account_profitability.month_start >= rebuilt_accounts.rebuilt_from

),

watermark as (

    select max(all_account_profitability.built_in_run) as profitability_built_in_run
    from all_account_profitability

),

holders as (

    select
        account_holders.account_id,
        account_holders.customer_key,
        account_holders.allocation_weight
    from account_holders

    union all

    select distinct
        account_profitability.account_id,
        account_profitability.customer_key,
        cast(1 as decimal(18, 10)) as allocation_weight
    from account_profitability
    where
        account_profitability.customer_key is not null
        and account_profitability.account_id not in (select account_holders.account_id from account_holders)

),

holder_months as (

    select
        account_profitability.*,
        holders.customer_key as holder_customer_key,
        holders.allocation_weight,
        -- (a bigint on both engines: Spark's row_number is an integer)
        cast(
            row_number() over (
                partition by account_profitability.account_id, account_profitability.month_start
                order by
                    holders.customer_key = account_profitability.customer_key desc,
                    holders.customer_key
            ) as bigint
        ) as holder_rank
    from account_profitability
    inner join holders
        on account_profitability.account_id = holders.account_id

),

rounded_shares as (

    select
        {%- for measure in shared_measures %}
            cast(
                round(
                    cast(holder_months.{{ measure }} as decimal(38, 12)) * holder_months.allocation_weight, 2
                ) as decimal(18, 2)
            ) as {{ measure }}_share,
        {%- endfor %}
        holder_months.*
    from holder_months

),

shared as (

    select
        rounded_shares.month_start,
        rounded_shares.account_id,
        rounded_shares.holder_customer_key as customer_key,
        rounded_shares.customer_key as primary_customer_key,
        rounded_shares.allocation_weight,
        rounded_shares.holder_rank,
        rounded_shares.product_code,
        rounded_shares.balance_side,
        {%- for measure in shared_measures %}
            cast(
                case
                    when rounded_shares.holder_rank = 1
                        then
                            rounded_shares.{{ measure }}
                            - coalesce(sum(rounded_shares.{{ measure }}_share) over other_holders, 0)
                    else rounded_shares.{{ measure }}_share
                end as decimal(18, 2)
            ) as {{ measure }},
        {%- endfor %}
        rounded_shares.is_complete_month,
        -- lineage of the incremental build
        rounded_shares.holders_fingerprint,
        rounded_shares.shared_rebuilt_from as rebuilt_from
    from rounded_shares
    window other_holders as (
        partition by rounded_shares.account_id, rounded_shares.month_start
        order by rounded_shares.holder_rank
        rows between 1 following and unbounded following
    )

),

final as (

    select
        shared.*,
        cast(
            shared.net_interest_income + shared.fee_income + shared.other_income
            - shared.operating_cost - shared.credit_cost
            as decimal(18, 2)
        ) as contribution,
        cast(
            shared.net_interest_income + shared.fee_income + shared.other_income
            - shared.operating_cost - shared.credit_cost - shared.capital_charge
            as decimal(18, 2)
        ) as economic_profit,
        watermark.profitability_built_in_run
    from shared
    cross join watermark

)

select * from final
{{ replace_tail_markers(output_columns) }}
