{#-
    Fails on every row where `expression` is not true (null counts as a failure).
    Use for identities that must hold row by row, e.g.
    `contribution = net_interest_income + fee_income + other_income - operating_cost - credit_cost`.
-#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
