{#-
    Every night's scores of one model (bankdw/scores.py): the archived nights `archived` (a
    source of the `scores` archive) but the dates scored again tonight, and tonight's `tonight`
    (the intermediate model that scores the night), cast as the mart publishes them, with
    is_scored_tonight (the row is tonight's, not yet the mart's). The score marts select
    tonight's rows on an incremental night and every row on a full refresh, so a full refresh
    gives the same rows. `columns`: the mart's columns, in its order; `casts`: the type of each
    column the model scores in another type than the mart's contract (the archive holds the
    contract's types already).
-#}
{% macro score_history(archived, tonight, columns, casts) -%}
with archived as (

    select * from {{ archived }}

),

tonight as (

    select * from {{ tonight }}

),

earlier_nights as (

    select
        {%- for column in columns %}
        archived.{{ column }},
        {%- endfor %}
        false as is_scored_tonight
    from archived
    where archived.score_date not in (select tonight.score_date from tonight)

),

scored_tonight as (

    select
        {%- for column in columns %}
        {%- if column in casts %}
        cast(tonight.{{ column }} as {{ casts[column] }}) as {{ column }},
        {%- else %}
        tonight.{{ column }},
        {%- endif %}
        {%- endfor %}
        true as is_scored_tonight
    from tonight

),

final as (

    select * from earlier_nights
    union all
    select * from scored_tonight

)

select * from final
{%- endmacro %}
