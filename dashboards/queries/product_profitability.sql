-- Profitability by product and month, with the product's name and family.
select
    p.month_start,
    p.product_code,
    d.product_name,
    d.product_family,
    p.net_interest_income,
    p.fee_income,
    p.other_income,
    p.operating_cost,
    p.credit_cost,
    p.contribution,
    p.capital_charge,
    p.economic_profit,
    p.raroc
from marts.fct_product_profitability_monthly as p
left join marts.dim_product as d on p.product_code = d.product_code
