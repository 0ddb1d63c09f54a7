{#
    The warehouse tests of a night (docs/quality.md, "What a night tests").

    A nightly build is incremental: it starts from a copy of the published warehouse and its
    incremental tables add or replace the rows of what the night's loads brought. Their tests
    need not read again the rows that earlier nights' tests passed: a test of such a table is
    given a `where` config that names one of these scopes, which get_where_subquery renders
    (night_scope) into a condition on the table under test:

      __night__(watermark)        the rows the night wrote: those whose load watermark (load_id,
                                  as_of_load_id, detected_in_run) is newer than the lake version
                                  of the published build the night started from, and those
                                  without one;
      __night_keys__(key, ..., watermark)
                                  for uniqueness: every row, old or new, whose key (one column
                                  or several) a row of the night holds (an older row can hold
                                  the key a night's row repeats), found by a semi-join on the
                                  key rather than by grouping the whole table;
      __night_dates__(day, watermark)
                                  for the uniqueness of a key that holds a date: every row dated
                                  from the night's earliest date on (a row that collides with a
                                  night's row has its date).
      __whole_build__()           no row on a night (a build that started from a published
                                  one), every row otherwise: for a test of a view
                                  whose night's rows a model checks where it reads them (the
                                  leads' candidates, models/crm/leads.py), so that the test runs
                                  on a full refresh and by hand, and a night does not compute
                                  the whole view for it.

    A singular test that judges days against the days before them cannot take a `where`: it
    asks night_since() itself and starts from night_first_date() (assert_balances_roll_forward
    judges the account-days from the night's first date on, each from its last older balance).

    (dbt renders a test's config when it parses, without the project's macros: hence names
    that the macro below replaces when the test runs, the way dbt's docs show for `where`.)

    The lake version the build started from is in the build's own audit.warehouse_build
    (`started_from_lake_version`, bankdw/warehouse.py): null on a full refresh, where every
    row is the night's and every test reads its whole table. The var warehouse_test_scope
    (setting warehouse_test_scope) turns the scoping off: `whole`, as a `dbt test` by hand has
    it, renders every scope `true`. On Spark the build's row is also a Parquet file in the
    Spark dir (`warehouse_build.parquet`, bankdw.warehouse._stamp), which the tests read there:
    the DuckDB file is not Spark's.
#}

{% macro night_since() -%}
    {#- The lake version whose newer rows a night's tests read (the build's watermark,
        night_watermark); none when the tests read whole tables: after a full refresh (watermark
        '': every row is the night's, and the scopes would select every row at the cost of their
        semi-joins), in a file the pipeline did not stamp, with the var `whole`. The pipeline's
        warehouse gate names it once for the command (bankdw.warehouse.run_tests, the
        environment variable BANKDW_NIGHT_TESTED_SINCE: the watermark it stamped, `-` for whole
        tables); a `dbt test` without it asks the build, once a test (a query; on Spark a job).
        (Read only when the tests run, never when dbt parses: not part of the kept parse.) -#}
    {%- if var('warehouse_test_scope') != 'night' or not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set given = env_var('BANKDW_NIGHT_TESTED_SINCE', '') -%}
    {%- if given -%}
        {{- return(none if given == '-' else given) -}}
    {%- endif -%}
    {%- if not adapter.dispatch('night_stamped', 'bankdw')() -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set since = run_query('select ' ~ night_watermark()).columns[0].values()[0] -%}
    {{- return(since if since else none) -}}
{%- endmacro %}

{% macro default__night_stamped() -%}
    {#- A file the pipeline did not stamp (a `dbt build` with tests in one command: no
        audit.warehouse_build yet) is tested whole, whatever the var says. -#}
    {%- set stamp = adapter.get_relation(database=target.database, schema='audit', identifier='warehouse_build') -%}
    {{- return(stamp is not none) -}}
{%- endmacro %}

{% macro spark__night_stamped() -%}
    {#- The pipeline stamps every Spark build before its tests (night_watermark); a `dbt test`
        by hand has the var `whole` and never gets here. -#}
    {{- return(true) -}}
{%- endmacro %}


{% macro night_watermark() -%}
    {{- return(adapter.dispatch('night_watermark', 'bankdw')()) -}}
{%- endmacro %}

{% macro default__night_watermark() -%}
    (select coalesce(max(build.started_from_lake_version), '') from audit.warehouse_build as build)
{%- endmacro %}

{% macro spark__night_watermark() -%}
    {#- the stamp's copy the pipeline writes into the Spark dir (bankdw.warehouse.SPARK_BUILD_INFO) -#}
    {%- set stamp = env_var('BANKDW_SPARK_DIR') ~ '/warehouse_build.parquet' -%}
    (
        select coalesce(max(build.started_from_lake_version), '')
        from parquet.`{{ stamp | replace('`', '``') }}` as build
    )
{%- endmacro %}


{% macro night_rows_of(alias, watermark, since) -%}
    {#- The night's rows of `alias`: its `watermark` newer than `since` (night_since), or none.
        `since` as a literal, not the subquery: DuckDB prunes with a constant, so a scoped test
        of a staging view opens only the lake files of the night's loads, and of a table only
        the row groups they wrote (100,000 customers x 30 days: a staging view's uniqueness
        4.7 s whole, 1.2 s with the subquery, 0.3 s with the literal). -#}
    {%- set prefix = alias ~ '.' if alias else '' -%}
    ({{ prefix }}{{ watermark }} is null or {{ prefix }}{{ watermark }} > '{{ since | replace("'", "''") }}')
{%- endmacro %}


{% macro night_scope(relation, kind, columns, since) -%}
    {#- The condition one scope of a test's `where` stands for (see above), on `relation`;
        `columns` as the scope names them, the watermark last; `since` night_since(). -#}
    {%- set watermark = columns[-1] -%}
    {%- if since is none -%}
        true
    {%- elif kind == 'whole_build' and columns == [''] -%}
        {#- a constant, so that the engine computes nothing of the view on a night -#}
        false
    {%- elif kind == 'night' and columns | length == 1 -%}
        {{ night_rows_of('', watermark, since) }}
    {%- elif kind == 'night_keys' and columns | length > 1 -%}
        {%- set keys = columns[:-1] -%}
        ({{ keys | join(', ') }}) in (
            select
            {%- for key in keys %}
                night.{{ key }}{{ ',' if not loop.last }}
            {%- endfor %}
            from {{ relation }} as night
            where {{ night_rows_of('night', watermark, since) }}
        )
    {%- elif kind == 'night_dates' and columns | length == 2 -%}
        {{ columns[0] }} >= (
            select coalesce(min(night.{{ columns[0] }}), date '9999-12-31') from {{ relation }} as night
            where {{ night_rows_of('night', watermark, since) }}
        )
    {%- else -%}
        {{ exceptions.raise_compiler_error('a where config names __' ~ kind ~ '__(' ~ columns | join(', ') ~ '): see macros/night_tests.sql') }}
    {%- endif -%}
{%- endmacro %}


{% macro get_where_subquery(relation) -%}
    {#- dbt's own (a test's `where` config filters the model it tests), with the night's scopes
        of the where rendered (night_scope). -#}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set rendered = namespace(where=where) -%}
        {%- set pattern = '__(night|night_keys|night_dates|whole_build)__\\(([\\w\\s,]*)\\)' -%}
        {%- set since = night_since() if modules.re.search(pattern, where) else none -%}
        {%- for found in modules.re.finditer(pattern, where) -%}
            {%- set columns = found.group(2).split(',') | map('trim') | list -%}
            {%- set condition = night_scope(relation, found.group(1), columns, since) -%}
            {%- set rendered.where = rendered.where | replace(found.group(0), condition) -%}
        {%- endfor -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ rendered.where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{% macro night_first_date(relation, day, watermark, since) -%}
    {#- The earliest `day` of the night's rows of `relation` (a test that judges every row from
        the night's first date on: assert_balances_roll_forward); far in the future when the
        night wrote none. Only where night_since() is not none. -#}
    (
        select coalesce(min(night.{{ day }}), date '9999-12-31') from {{ relation }} as night
        where {{ night_rows_of('night', watermark, since) }}
    )
{%- endmacro %}


{% macro queried_date(query) -%}
    {#- The date `query` (one row: the date as text) returns, as a date literal for a test's SQL
        (assert_balances_roll_forward's night dates, asked once rather than computed at each
        reference); `cast(null as date)` when it returns null, and when dbt only parses. -#}
    {%- if not execute -%}
        {{- return('cast(null as date)') -}}
    {%- endif -%}
    {%- set value = run_query(query).columns[0].values()[0] -%}
    {{- return('cast(null as date)' if value is none else "date '" ~ (value | string)[:10] ~ "'") -}}
{%- endmacro %}


{% macro not_materialized() -%}
    {#- The keyword of a CTE to be inlined at each reference, each read pruned on its own, not
        computed once (assert_balances_roll_forward's scoped reads): DuckDB computes once a CTE
        referenced more than once unless told `not materialized`; Spark always inlines a CTE
        and has no such keyword. -#}
    {{- return(adapter.dispatch('not_materialized', 'bankdw')()) -}}
{%- endmacro %}

{% macro default__not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro spark__not_materialized() -%}
{%- endmacro %}
