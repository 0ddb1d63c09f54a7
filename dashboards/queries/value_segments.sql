-- Customers by value tier and class in the latest month of fct_customer_value_monthly
-- (the current month as of the latest business date), with their 12-month contribution.
select
    v.month_start,
    v.is_complete_month,
    v.value_tier,
    v.value_class,
    count(*)::integer as customers,
    sum(v.contribution_12m) as contribution_12m,
    sum(v.economic_profit_12m) as economic_profit_12m
from marts.fct_customer_value_monthly as v
where v.month_start = (select max(m.month_start) from marts.fct_customer_value_monthly as m)
group by v.month_start, v.is_complete_month, v.value_tier, v.value_class
