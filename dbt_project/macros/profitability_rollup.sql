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
    cast(
        {{ cost_of_equity }} * {{ contribution }} / nullif({{ capital_charge }}, 0) as decimal(18, 6)
    )
{%- endmacro %}
