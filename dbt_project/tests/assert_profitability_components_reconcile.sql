-- A failure means one view of the bank's profitability disagrees with another for some
-- month and component: the accounts, the customers, the products, branches, relationship
-- managers and segments must all add up to the bank's totals (fct_bank_profitability_monthly)
-- to the cent, or finance, RMs and product managers would each be shown a different bank.
-- Customers cover the accounts with a customer_key (every account has one: not_null test).
{% set components = [
    'net_interest_income', 'fee_income', 'other_income', 'operating_cost', 'credit_cost',
    'contribution', 'capital_charge', 'economic_profit', 'avg_balance', 'allocated_capital'
] %}
{% set views = {
    'accounts': 'fct_account_profitability_monthly',
    'customers': 'fct_customer_profitability_monthly',
    'products': 'fct_product_profitability_monthly',
    'branches': 'fct_branch_profitability_monthly',
    'relationship_managers': 'fct_relationship_manager_profitability_monthly',
    'segments': 'fct_segment_profitability_monthly',
} %}
with bank as (

    select * from {{ ref('fct_bank_profitability_monthly') }}

),

view_totals as (

    {% for view_name, model_name in views.items() %}
        select
            '{{ view_name }}' as view_name,
            view_rows.month_start,
        {% for component in components %}
            sum(view_rows.{{ component }}) as {{ component }}{{ "," if not loop.last }}  -- noqa: LT02
        {% endfor %}
        from {{ ref(model_name) }} as view_rows
        group by view_rows.month_start
        {{ "union all" if not loop.last }}
    {% endfor %}

),

mismatches as (

    {% for component in components %}
        select
            coalesce(view_totals.month_start, bank.month_start) as month_start,
            view_totals.view_name,
            '{{ component }}' as component,
            bank.{{ component }} as bank_total,
            view_totals.{{ component }} as view_total
        from view_totals
        full outer join bank
            on view_totals.month_start = bank.month_start
        where view_totals.{{ component }} is distinct from bank.{{ component }}
        {{ "union all" if not loop.last }}
    {% endfor %}

)

select * from mismatches
