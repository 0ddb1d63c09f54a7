{#-
    Fails on every group whose `column_name` does not sum to one (within `tolerance`),
    e.g. allocation weights per account.
-#}
{% test sum_to_one_by(model, column_name, group_by, tolerance=0.000001) %}

select
    {{ group_by | join(', ') }},
    sum({{ column_name }}) as total
from {{ model }}
group by {{ group_by | join(', ') }}
having abs(sum({{ column_name }}) - 1) > {{ tolerance }}

{% endtest %}
