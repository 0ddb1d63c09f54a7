{#-
    The measures every profitability roll-up sums, in one place so that the customer,
    product, branch, RM, segment and bank marts add up the same components the same way.
    `alias` is the relation the measures are summed from (a profitability mart with the
    columns of fct_account_profitability_monthly). RAROC is the annualised return on the
    capital allocated over the period: cost_of_equity x contribution / capital_charge (the
    capital charge is capital x cost of equity for the period), so RAROC exceeds the cost
    of equity exactly when economic profit is positive; null without capital.
-#}
{% macro profitability_measures(alias) %}
        cast(sum({{ alias }}.avg_balance) as decimal(18, 2)) as avg_balance,
        cast(
            sum({{ alias }}.avg_balance) filter (where {{ alias }}.balance_side = 'ASSET') as decimal(18, 2)
        ) as avg_asset_balance,
        cast(
            sum({{ alias }}.avg_balance) filter (where {{ alias }}.balance_side = 'LIABILITY') as decimal(18, 2)
        ) as avg_liability_balance,
        cast(sum({{ alias }}.risk_weighted_assets) as decimal(18, 2)) as risk_weighted_assets,
        cast(sum({{ alias }}.allocated_capital) as decimal(18, 2)) as allocated_capital,
        cast(sum({{ alias }}.interest_income) as decimal(18, 2)) as interest_income,
        cast(sum({{ alias }}.interest_expense) as decimal(18, 2)) as interest_expense,
        cast(sum({{ alias }}.net_interest_income) as decimal(18, 2)) as net_interest_income,
        cast(sum({{ alias }}.fee_income) as decimal(18, 2)) as fee_income,
        cast(sum({{ alias }}.other_income) as decimal(18, 2)) as other_income,
        cast(sum({{ alias }}.operating_cost) as decimal(18, 2)) as operating_cost,
        cast(sum({{ alias }}.credit_cost) as decimal(18, 2)) as credit_cost,
        cast(sum({{ alias }}.contribution) as decimal(18, 2)) as contribution,
        cast(sum({{ alias }}.capital_charge) as decimal(18, 2)) as capital_charge,
        cast(sum({{ alias }}.economic_profit) as decimal(18, 2)) as economic_profit
{%- endmacro %}

{% macro raroc(cost_of_equity, contribution, capital_charge) -%}
    {#- (rounded_quotient, macros/engines_decimals.sql: half up to the sixth decimal on both engines) -#}
    cast(
        {{ rounded_quotient(cost_of_equity ~ ' * ' ~ contribution, capital_charge, 6) }} as decimal(18, 6)
    )
{%- endmacro %}

{#-
    A whole roll-up model: int_account_profitability_monthly (the rows of
    fct_account_profitability_monthly) summed by month and by the
    account column `dimension` (product_code, branch_id, rm_id), or by month alone when none
    (the bank). RAROC from the summed contribution and capital charge.
-#}
{% macro profitability_rollup(dimension=none) %}
with account_profitability as (

    select * from {{ ref('int_account_profitability_monthly') }}

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

summed as (

    select
        account_profitability.month_start,
        {% if dimension %}account_profitability.{{ dimension }},{% endif %}
        bool_and(account_profitability.is_complete_month) as is_complete_month,
        count(distinct account_profitability.customer_key) as n_customers,
        count(*) as n_accounts,
        {{ profitability_measures('account_profitability') }}
    from account_profitability
    group by all

),

final as (

    select
        summed.*,
        {{ raroc('assumptions.cost_of_equity', 'summed.contribution', 'summed.capital_charge') }} as raroc
    from summed
    cross join assumptions

)

select * from final
{% endmacro %}


{#-
    One measure of every profitability mart summed per month, one row per mart and month
    (`view_name`, `month_start`, the measure): what the reconciliations in tests/ compare with
    an independent source. The marts listed are every grain the profitability marts publish.
-#}
{% macro profitability_marts_monthly_sum(measure) %}
    {%- set marts = {
        'accounts': 'fct_account_profitability_monthly',
        'customers': 'fct_customer_profitability_monthly',
        'products': 'fct_product_profitability_monthly',
        'branches': 'fct_branch_profitability_monthly',
        'relationship_managers': 'fct_relationship_manager_profitability_monthly',
        'segments': 'fct_segment_profitability_monthly',
        'bank': 'fct_bank_profitability_monthly',
    } %}
    {%- for view_name, model_name in marts.items() %}
        select
            '{{ view_name }}' as view_name,
            view_rows.month_start,
            sum(view_rows.{{ measure }}) as {{ measure }}
        from {{ ref(model_name) }} as view_rows
        group by view_rows.month_start
        {{ "union all" if not loop.last }}
    {%- endfor %}
{%- endmacro %}
