{#
    Incremental facts (see README.md, "Incremental facts").

    Every incremental fact keeps the `load_id` of the lake load its rows came from. A nightly
    run rebuilds a fact from the earliest date that any newer load touched: normally only the
    new business date, but everything from an older date on when that date was re-delivered
    or late data arrived for it. Rows are replaced per date (delete+insert on the date), so a
    corrected delivery replaces what its date loaded before. The cost of a night therefore
    depends on what arrived, not on how much history the warehouse already holds.
#}

{% macro reprocess_from(relation, date_column) -%}
    {#- The earliest `date_column` among the rows of `relation` that loads newer than this
        table's latest `load_id` brought; a far-future date when nothing is new. -#}
    (
        select coalesce(min(newer.{{ date_column }}), date '9999-12-31')
        from {{ relation }} as newer
        where newer._load_id > (select coalesce(max(loaded.load_id), '') from {{ this }} as loaded)
    )
{%- endmacro %}


{% macro refresh_customer_keys(mapping, fact_key, mapping_key, extra_columns=[], xref_source=none) -%}
    {#- Post-hook of an incremental fact: rows loaded on earlier nights keep the customer they
        were built with, so when identity resolution re-keys a record (two customers found to
        be one), the changed rows, and only those, are updated to the current key.
        `xref_source` = [source_system, source_table] when `mapping` is the customer xref.
        Hooks are given as strings ("{{ refresh_customer_keys(...) }}") so that they render
        when the model runs, not when dbt parses the project (is_incremental() is false then). -#}
    {%- if is_incremental() -%}
        update {{ this }} as fact
        set
            customer_key = current_keys.customer_key
            {%- for column in extra_columns %},
            {{ column }} = current_keys.{{ column }}
            {%- endfor %}
        from (
            select * from {{ mapping }}
            {%- if xref_source %}
                where source_system = '{{ xref_source[0] }}' and source_table = '{{ xref_source[1] }}'
            {%- endif %}
        ) as current_keys
        where
            fact.{{ fact_key }} = current_keys.{{ mapping_key }}
            and (
                fact.customer_key is distinct from current_keys.customer_key
                {%- for column in extra_columns %}
                or fact.{{ column }} is distinct from current_keys.{{ column }}
                {%- endfor %}
            )
    {%- endif -%}
{%- endmacro %}


{% macro refresh_reversals() -%}
    {#- Post-hook of fct_transactions: a reversal can arrive days after the posting it
        cancels, when that posting's date is no longer rebuilt; mark (or unmark, when a
        corrected delivery withdrew the reversal) exactly the postings whose flag changed. -#}
    {%- if is_incremental() -%}
        update {{ this }} as posting
        set
            is_reversed = changed.is_reversed,
            reversed_by_txn_id = changed.reversal_txn_id,
            reversed_on = changed.reversed_on
        from (
            select
                postings.txn_id,
                reversed.txn_id is not null as is_reversed,
                reversed.reversal_txn_id,
                reversed.reversed_on
            from {{ this }} as postings
            left join {{ ref('int_transactions_reversed') }} as reversed
                on postings.txn_id = reversed.txn_id
            where
                postings.is_reversed is distinct from (reversed.txn_id is not null)
                or postings.reversed_by_txn_id is distinct from reversed.reversal_txn_id
        ) as changed
        where posting.txn_id = changed.txn_id
    {%- endif -%}
{%- endmacro %}


{% macro drop_dates_before_window(date_column, window_days) -%}
    {#- Post-hook of an incremental table that keeps a window of days: deletes the dates that
        are `window_days` or more before the latest date it holds, the same days the full
        refresh leaves out. A late delivery of a date before the window inserts nothing (the
        model filters it), so its load stays newer than the table's watermark and the next
        night reads from that date again: one night more, until a newer date is inserted. -#}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ date_column }} <= (select max(kept.{{ date_column }}) from {{ this }} as kept) - {{ window_days }}
    {%- endif -%}
{%- endmacro %}
