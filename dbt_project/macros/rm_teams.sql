-- The RM teams' credit rules (var rm_credit_rules, rendered by bankdw/rm_teams.py from the setting
-- rm_team_credit_shares) as rows: rm_id, valid_from, valid_to (exclusive; null: open),
-- credited_rm_id, credit_share. No row when no team shares its customers' credit.
{% macro rm_credit_rules() -%}
    {%- set rules = var('rm_credit_rules') -%}
    {%- for rule in rules %}
    select
        cast('{{ rule.rm_id | replace("'", "''") }}' as {{ string_type() }}) as rm_id,
        {{ rm_credit_date(rule.valid_from) }} as valid_from,
        {{ rm_credit_date(rule.valid_to) }} as valid_to,
        cast('{{ rule.credited_rm_id | replace("'", "''") }}' as {{ string_type() }}) as credited_rm_id,
        cast({{ rule.credit_share }} as decimal(5, 4)) as credit_share
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        cast(null as {{ string_type() }}) as rm_id,
        cast(null as date) as valid_from,
        cast(null as date) as valid_to,
        cast(null as {{ string_type() }}) as credited_rm_id,
        cast(null as decimal(5, 4)) as credit_share
    where 1 = 0
    {%- endfor %}
{%- endmacro %}

{% macro rm_credit_date(value) -%}
    {%- if value is none -%} cast(null as date) {%- else -%} date '{{ value }}' {%- endif -%}
{%- endmacro %}
