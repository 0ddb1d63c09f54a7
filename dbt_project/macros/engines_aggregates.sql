{#
    Aggregates that differ between the engines (macros/engines.sql, docs/spark.md), in a file of
    their own: engines.sql had reached 50,000 bytes, past which sqlfluff skips a file (.sqlfluff,
    large_file_skip_byte_limit). The same rule: `default__` is DuckDB's, `spark__` is Spark's.
#}

{#- Ordered aggregates. DuckDB orders inside the aggregate (`first(x order by ...)`,
    `string_agg(x, ',' order by ...)`), Spark has neither form; and DuckDB's ordered
    `string_agg` and `list` sort each group apart, which a list sorted once collected does in a
    fraction of the time (ordered_string_agg, ordered_list_digest). -#}

{% macro ordered_first(value, order_by, where=none) -%}
    {#- The value of the group's first row in the order `order_by` (a list of `<expression>
        [asc|desc]`, nulls last as DuckDB sorts them), null values included; with `where`, of
        the rows that satisfy it. -#}
    {{- return(adapter.dispatch('ordered_first', 'bankdw')(value, order_by, where)) -}}
{%- endmacro %}

{% macro default__ordered_first(value, order_by, where) -%}
    first({{ value }} order by {{ order_by | join(', ') }})
    {%- if where is not none %}
        filter (where {{ where }})
    {%- endif %}
{%- endmacro %}

{% macro spark__ordered_first(value, order_by, where) -%}
    {#- Ascending keys only: min_by over a struct of the keys, each after a flag that sorts its
        nulls last, as DuckDB does (Spark sorts a struct's null fields first). A descending key
        (a timestamp, a string) cannot be turned around inside a struct: then the group's rows
        are collected as structs and sorted by a comparator that says DuckDB's order (each key's
        direction, nulls last in both), and the first one's value is taken (try_element_at: a
        group that no row passes `where` gives null, as on DuckDB). Slower: only where needed. -#}
    {%- set keys = [] -%}
    {%- for term in order_by -%}
        {%- set words = term.strip().split(' ') -%}
        {%- set descending = words[-1] | lower == 'desc' -%}
        {%- set expression = (words[:-1] | join(' ')) if (words[-1] | lower) in ('asc', 'desc') else term.strip() -%}
        {%- do keys.append({'expression': expression, 'sign': -1 if descending else 1}) -%}
    {%- endfor -%}
    {%- if keys | selectattr('sign', 'lt', 0) | list | length == 0 -%}
    min_by({{ value }}, struct(
        {%- for key in keys %}{{ ', ' if not loop.first }}{{ key.expression }} is null, {{ key.expression }}{% endfor -%}
    ))
        {%- if where is not none %} filter (where {{ where }}){% endif %}
    {%- else -%}
    try_element_at(array_sort(
        collect_list(struct(
            {{ value }} as value
            {%- for key in keys %}, {{ key.expression }} as key_{{ loop.index }}{% endfor -%}
        ))
        {%- if where is not none %} filter (where {{ where }}){% endif %},
        (left_row, right_row) -> case
        {%- for key in keys %}
            {%- set left, right = 'left_row.key_' ~ loop.index, 'right_row.key_' ~ loop.index %}
            when {{ left }} is null and {{ right }} is not null then 1
            when {{ left }} is not null and {{ right }} is null then -1
            when {{ left }} < {{ right }} then {{ -1 * key.sign }}
            when {{ left }} > {{ right }} then {{ key.sign }}
        {%- endfor %}
            else 0
        end
    ), 1).value
    {%- endif -%}
{%- endmacro %}

{% macro ordered_string_agg(value, separator, order_by, where=none) -%}
    {#- The group's non-null values joined by `separator` in the order `order_by` (an expression,
        or a list of them, each ascending and never null; values that tie on it in their own
        order); with `where`, of the rows that satisfy it. -#}
    {%- set keys = [order_by] if order_by is string else order_by -%}
    {{- return(adapter.dispatch('ordered_string_agg', 'bankdw')(value, separator, keys, where)) -}}
{%- endmacro %}

{% macro default__ordered_string_agg(value, separator, keys, where) -%}
    {#- Not DuckDB's `string_agg(x, ',' order by ...)`: an ordered aggregate sorts every group
        apart, which at a million groups took 3.4 times as long as collecting each group's rows
        in a list and sorting the list (the same string: docs/performance.md, "Ordered
        aggregates as sorted lists"). A list of one key that is the value itself is sorted as it
        is; else as structs of the keys, then the value, and the values taken from them. -#}
    {%- set kept -%}
        filter (where {{ value }} is not null{% if where is not none %} and ({{ where }}){% endif %})
    {%- endset -%}
    {%- if keys == [value] -%}
        array_to_string(list_sort(list({{ value }}) {{ kept }}), {{ separator }})
    {%- else -%}
        array_to_string(
            list_transform(
                list_sort(
                    list(struct_pack(
                        {%- for key in keys %}
                        key_{{ loop.index }} := {{ key }},
                        {%- endfor %}
                        item := {{ value }}
                    )) {{ kept }}
                ),
                entry -> entry.item
            ),
            {{ separator }}
        )
    {%- endif -%}
{%- endmacro %}

{% macro spark__ordered_string_agg(value, separator, keys, where) -%}
    string_agg({{ value }}, {{ separator }}) within group (order by {{ keys | join(', ') }}, {{ value }})
    {%- if where is not none %} filter (where {{ where }}){% endif %}
{%- endmacro %}

{% macro arg_max(value, by) -%}
    {#- The value of the row with the largest `by` (rows with a null `by` ignored). -#}
    {{- return(adapter.dispatch('arg_max', 'bankdw')(value, by)) -}}
{%- endmacro %}

{% macro default__arg_max(value, by) -%}
    arg_max({{ value }}, {{ by }})
{%- endmacro %}

{% macro spark__arg_max(value, by) -%}
    max_by({{ value }}, {{ by }})
{%- endmacro %}

{% macro arg_min(value, by) -%}
    {#- The value of the row with the smallest `by` (rows with a null `by` ignored). -#}
    {{- return(adapter.dispatch('arg_min', 'bankdw')(value, by)) -}}
{%- endmacro %}

{% macro default__arg_min(value, by) -%}
    arg_min({{ value }}, {{ by }})
{%- endmacro %}

{% macro spark__arg_min(value, by) -%}
    min_by({{ value }}, {{ by }})
{%- endmacro %}

{#- Digests. DuckDB hashes any value, a list of structs included (`hash`, a 64-bit UBIGINT);
    Spark's `xxhash64` (a 64-bit bigint) hashes its own values. A digest is compared only with
    one the same engine wrote (an incremental table's fingerprint against its own rows), never
    across engines: tests/test_spark.py compares such columns as what they are for (the same
    rows share a digest on both engines), not as values. -#}
{% macro ordered_list_digest(fields) -%}
    {#- An aggregate: a 64-bit digest of the group's values of `fields` (a list of expressions:
        one, or several taken together as a row), sorted by the values themselves (field by
        field, nulls last), so that equal groups give equal digests whatever their rows' order. -#}
    {{- return(adapter.dispatch('ordered_list_digest', 'bankdw')(fields)) -}}
{%- endmacro %}

{% macro default__ordered_list_digest(fields) -%}
    {#- The list sorted after it is collected, not `list(x order by ...)`: an ordered aggregate
        sorts every group apart, about ten times the time at a million groups for the same list
        (docs/performance.md, "Ordered aggregates as sorted lists"). -#}
    {%- if fields | length == 1 -%}
        hash(list_sort(list({{ fields[0] }})))
    {%- else -%}
        hash(list_sort(list(struct_pack(
            {%- for field in fields %}
            {{ field }}{{ ',' if not loop.last }}
            {%- endfor %}
        ))))
    {%- endif -%}
{%- endmacro %}

{% macro spark__ordered_list_digest(fields) -%}
    {#- The values sorted (array_sort: the values' own order) and written as JSON text, which
        names every field of a row, so that a null in one field never reads as a null in another
        (xxhash64 of a struct skips its null fields); null values are left out of a list of one
        field (collect_list), which the callers' fields never are. -#}
    {%- if fields | length == 1 -%}
        xxhash64(to_json(array_sort(collect_list({{ fields[0] }}))))
    {%- else -%}
        xxhash64(to_json(array_sort(collect_list(struct(
            {%- for field in fields %}{{ ', ' if not loop.first }}{{ field }}{% endfor -%}
        )))))
    {%- endif -%}
{%- endmacro %}

{% macro row_digest(fields) -%}
    {#- A 64-bit digest of one row's values of `fields` (a list of expressions), compared only
        with the same engine's: DuckDB's hash of them (a UBIGINT); on Spark xxhash64 of the row
        written as JSON text (a BIGINT), which names every field, so that a null in one field
        never reads as a null in another (xxhash64 of several values skips the null ones). -#}
    {{- return(adapter.dispatch('row_digest', 'bankdw')(fields)) -}}
{%- endmacro %}

{% macro default__row_digest(fields) -%}
    hash(
        {%- for field in fields %}
        {{ field }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro spark__row_digest(fields) -%}
    xxhash64(to_json(struct(
        {%- for field in fields %}{{ ', ' if not loop.first }}{{ field }}{% endfor -%}
    )))
{%- endmacro %}
