{#
    Decimal arithmetic that differs between the engines (macros/engines.sql, docs/spark.md), in a
    file of its own: engines.sql would pass 50,000 bytes, past which sqlfluff skips a file with a
    warning (.sqlfluff, large_file_skip_byte_limit). The same rule: `default__` renders DuckDB's,
    `spark__` Spark's.
#}

{#- Decimal arithmetic. DuckDB multiplies decimals keeping every decimal (the scales add up, at
    most 38 digits, an error beyond) and divides them in floating point (a double, which the
    models cast back to the decimal they publish). Spark by default keeps at most 6 decimals of a
    product or quotient whose type would pass 38 digits (a `decimal(38, 4)` times a
    `decimal(18, 6)` keeps 6 of its 10): on Spark the session keeps them as DuckDB does
    (`spark.sql.decimalOperations.allowPrecisionLoss = false`, set_decimal_arithmetic, an
    on-run-start hook). A quotient then keeps few decimals (61 / 60 of a `decimal(38, 4)` is
    1.01667, where DuckDB's double gives 1.0166666667 at scale 10), so `decimal_quotient` casts
    Spark's operands to types whose quotient keeps 20 decimals and 18 integer digits (a numerator
    of at most 12 decimals, a denominator below 10^16 of at most 4): exact where DuckDB's double
    is within its 16 digits, the model's cast rounding both alike. -#}
{% macro decimal_quotient(numerator, denominator) -%}
    {{- return(adapter.dispatch('decimal_quotient', 'bankdw')(numerator, denominator)) -}}
{%- endmacro %}

{% macro default__decimal_quotient(numerator, denominator) -%}
    {{ numerator }} / {{ denominator }}
{%- endmacro %}

{% macro spark__decimal_quotient(numerator, denominator) -%}
    cast({{ numerator }} as decimal(38, 12)) / cast({{ denominator }} as decimal(20, 4))
{%- endmacro %}

{#- A quotient rounded to `scale` decimals half away from zero, the same on both engines: the
    rule of the published figures (each component rounded to the cent, docs/profitability.md).
    `decimal_quotient` cast to the scale is not that on DuckDB: its double falls a last digit
    either side of an exact half, and the cast rounds the double it has (an allocated capital of
    3,882.50 charges 3,882.50 x 0.12 / 12 = 38.825 a month, a double of 38.824999999999996, cast
    to 38.82), where Spark's quotient is exact (38.83). Both take the numerator as a
    `decimal(38, 12)` and the denominator as a `decimal(20, 4)` (Spark's `decimal_quotient`). On
    Spark the exact quotient (20 decimals) cast to the scale, which rounds half up. On DuckDB the
    double's quotient of the absolute values at the scale (a unit off at most, next to a half),
    corrected by its exact remainder (a decimal product, no division): a unit up where the
    remainder is half a unit of the denominator or more, a unit down where the double was past
    the half; then the sign. Exact while the double is within a unit (quotients below 10^13 at
    two decimals). A `decimal(38, scale)`; null where the denominator is null or 0. -#}
{% macro rounded_quotient(numerator, denominator, scale) -%}
    {{- return(adapter.dispatch('rounded_quotient', 'bankdw')(numerator, denominator, scale)) -}}
{%- endmacro %}

{% macro default__rounded_quotient(numerator, denominator, scale) -%}
    {%- set signed_numerator = 'cast(' ~ numerator ~ ' as decimal(38, 12))' -%}
    {%- set signed_denominator = 'cast(nullif(' ~ denominator ~ ', 0) as decimal(20, 4))' -%}
    {%- set n = 'abs(' ~ signed_numerator ~ ')' -%}
    {%- set d = 'abs(' ~ signed_denominator ~ ')' -%}
    {%- set unit = ('0.' ~ '0' * (scale - 1) ~ '1') if scale > 0 else '1' -%}
    {%- set q = 'cast(' ~ n ~ ' / ' ~ d ~ ' as decimal(38, ' ~ scale ~ '))' -%}
    {%- set twice_remainder = '2 * (' ~ n ~ ' - ' ~ q ~ ' * ' ~ d ~ ')' -%}
    cast(
        sign({{ signed_numerator }}) * sign({{ signed_denominator }}) * (
            {{ q }} + case
                when {{ twice_remainder }} >= {{ unit }} * {{ d }} then {{ unit }}
                when {{ twice_remainder }} < -{{ unit }} * {{ d }} then -{{ unit }}
                else 0
            end
        ) as decimal(38, {{ scale }})
    )
{%- endmacro %}

{% macro spark__rounded_quotient(numerator, denominator, scale) -%}
    cast({{ spark__decimal_quotient(numerator, 'nullif(' ~ denominator ~ ', 0)') }} as decimal(38, {{ scale }}))
{%- endmacro %}
