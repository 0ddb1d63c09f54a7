{#
    More of what differs between the engines (macros/engines.sql, docs/spark.md), in a file of its
    own: engines.sql has reached 50,000 bytes, past which `make lint` warns that sqlfluff skips it
    (.sqlfluff, large_file_skip_byte_limit). The same rule: `default__` renders what the model said
    before (DuckDB), `spark__` is Spark's.
#}

{% macro list_position(items, value) -%}
    {#- The 1-based position of `value` in `items` (a list of constant strings), an integer; null
        when `value` is null or not in the list. DuckDB's `list_position` of a list literal;
        Spark's `array_position`, a bigint that says 0 for a value not in the array. -#}
    {{- return(adapter.dispatch('list_position', 'bankdw')(items, value)) -}}
{%- endmacro %}

{% macro default__list_position(items, value) -%}
    list_position([{% for item in items %}{{ ', ' if not loop.first }}'{{ item }}'{% endfor %}], {{ value }})
{%- endmacro %}

{% macro spark__list_position(items, value) -%}
    cast(nullif(array_position(array(
        {%- for item in items %}{{ ', ' if not loop.first }}'{{ item }}'{% endfor -%}
    ), {{ value }}), 0) as integer)
{%- endmacro %}
