{#-
    Every night's scores of one model (bankdw/scores.py): the archived nights `archived` (a
    source of the `scores` archive) but the dates scored again tonight, and tonight's `tonight`
    (the intermediate model that scores the night), with is_scored_tonight (the row is tonight's,
    not yet the mart's). The score marts select tonight's rows on an incremental night and every
    row on a full refresh, so a full refresh gives the same rows.

    The columns are those of `mart`'s enforced contract, in its order, and tonight's are cast to
    the contract's types (dbt's `cast`, which on Spark translates the type names: spark__cast,
    macros/engines.sql): the archive holds them in those types already (its schema is read from
    the same contract, bankdw.scores.contract_schema), so the contract is the one statement of
    both. dbt's graph holds the contract only once the project is parsed (`execute`).
-#}
{% macro score_history(archived, tonight, mart) -%}
{%- set contract = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == mart -%}
        {%- for column in node.columns.values() -%}
            {%- do contract.append(column) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if contract | length == 0 -%}
        {{ exceptions.raise_compiler_error("score_history: no contract columns for mart " ~ mart) }}
    {%- endif -%}
{%- endif -%}
with archived as (

    select * from {{ archived }}

),

tonight as (

    select * from {{ tonight }}

),

earlier_nights as (

    select
        {%- for column in contract %}
        archived.{{ column.name }},
        {%- endfor %}
        false as is_scored_tonight
    from archived
    where archived.score_date not in (select tonight.score_date from tonight)

),

scored_tonight as (

    select
        {%- for column in contract %}
        {{ cast('tonight.' ~ column.name, column.data_type) }} as {{ column.name }},
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
