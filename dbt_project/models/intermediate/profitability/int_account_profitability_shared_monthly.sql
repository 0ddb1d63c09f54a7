-- Every account's month of profitability shared among its holders, one row per account,
-- holder and month: what customer profitability sums (int_customer_profitability_monthly),
-- by the same allocation weights that share balances in customer_360 and the bridge
-- (int_account_holders_weighted: PRIMARY and JOINT holders equally, AUTHORIZED users and
-- GUARANTORS nothing). An account the holder records do not cover is carried whole by its
-- primary holder. Each measure is shared to the cent and the primary holder (else the
-- first holder by customer_key) takes the rounding remainder, so the holders' shares add
-- up exactly to the account's figures and contribution and economic profit are formed from
-- the shared components as on the account.
{%- set shared_measures = [
    'avg_balance', 'risk_weighted_assets', 'allocated_capital', 'interest_income', 'interest_expense',
    'net_interest_income', 'fee_income', 'other_income', 'operating_cost', 'credit_cost', 'capital_charge',
] %}
with account_profitability as (

    select * from {{ ref('int_account_profitability_monthly') }}

),

account_holders as (

    select * from {{ ref('int_account_holders_weighted') }}
    where allocation_weight > 0

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
        row_number() over (
            partition by account_profitability.account_id, account_profitability.month_start
            order by
                holders.customer_key = account_profitability.customer_key desc,
                holders.customer_key
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
        rounded_shares.is_complete_month
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
        ) as economic_profit
    from shared

)

select * from final
