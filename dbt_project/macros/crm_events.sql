{#
    The customer events are incremental by window (models/intermediate/crm/int_customer_events.sql,
    where the rules run, and the mart that copies its window, fct_customer_events).

    A night recomputes the events dated from `customer_events_window_start()`: the earliest day
    a fact happened on among the business dates that loads newer than the table's watermark
    (its latest detected_in_run) delivered (int_business_date_loads' earliest_fact_date: the
    date, a late web event's day, the day of a posting a reversal cancels), less var
    event_lookback_days (0 by default: a margin the data team can widen). Every rule judges a
    day from facts dated on or before it (a withdrawn salary credit moves SALARY_STOPPED earlier,
    but not before the credit), so no event before that day can change; the rules that compare
    a day with the delivered day before read it, and after a silence (a weekend) the window
    starts the day after it. The
    `replace_window` strategy then deletes every event of the table dated in that window and
    inserts what the rules find there now: an event the corrected data still supports comes
    back with the same event_id; one it no longer supports is gone (withdrawn); a re-delivered
    date never duplicates one. Before the window nothing changes, except for re-keyed
    customers: identity resolution can give a customer a new key (two records found to be
    one, or one split), so the events of a key that is no longer a customer are deleted and
    every event of a key the table does not hold yet is inserted, whatever its date. (When a
    record merges into a customer the table already holds, that record's events before the
    window are dropped rather than moved: docs/crm.md.)
#}

{% macro customer_events_window_start() -%}
    {#- The earliest day a fact of the newer loads happened on, less the margin; moved back, when
        a silence lies before it, to the day after the last day that a "day before" rule compares
        the window's first with: the last date before it with loan states (LOAN_ARREARS,
        LOAN_DOWNGRADE), with account snapshots (DORMANCY_START), with balances both on it and
        balance_drop_window_days before it (BALANCE_DROP's last comparison); each only when the
        window holds a day that rule judges. On a bank that delivers every day that day is the
        day before, and the window stays where it was; after a weekend or a holiday the night
        judges the silent days again (no fact of the core system: the same events) so that the
        rules read the day they compare with, as a full refresh does. A silence costs a night its
        length, not the history's: a feed that stopped (a bank that sold its loans) moves
        nothing. A night with no newer load: 9999-12-31 (nothing to judge). -#}
    (
        select
            case
                when judged.first_day is null then date '9999-12-31'
                else least(
                    judged.first_day
                    {%- for compared_with in ('has_loans', 'has_account_snapshots', 'has_comparison') %},
                    case
                        when bool_or(delivered.business_date >= judged.first_day and delivered.{{ compared_with }})
                            then max(case when delivered.business_date < judged.first_day
                                and delivered.{{ compared_with }} then delivered.business_date end) + 1
                    end
                    {%- endfor %}
                )
            end
        from (
            select min(loads.earliest_fact_date) - {{ var('event_lookback_days') }} as first_day
            from {{ ref('int_business_date_loads') }} as loads
            where loads.load_id > (select coalesce(max(loaded.detected_in_run), '') from {{ this }} as loaded)
        ) as judged
        left join (
            select
                loads.business_date,
                loads.has_loans,
                loads.has_account_snapshots,
                loads.has_balances and coalesce(compared.has_balances, false) as has_comparison
            from {{ ref('int_business_date_loads') }} as loads
            left join {{ ref('int_business_date_loads') }} as compared
                on compared.business_date = loads.business_date - {{ var('balance_drop_window_days') }}
        ) as delivered
            on true
        group by judged.first_day
    )
{%- endmacro %}


{% macro set_customer_events_window() -%}
    {{- return(adapter.dispatch('set_customer_events_window', 'bankdw')()) -}}
{%- endmacro %}

{% macro default__set_customer_events_window() -%}
    {#- Pre-hook of int_customer_events: tells the rules (int_customer_events_*, views) which
        dates tonight's incremental build needs, so that each reads only those dates less the
        look-back of its own baseline (customer_events_since) instead of the whole history.
        A DuckDB variable of the model's own connection: the views read it when the table
        selects from them, and nobody else sees it (a full refresh, a test or an analyst
        reading a view gets every date). The window is the table's, extended back to the
        earliest event of a key that is no longer a customer, so that a re-keyed customer's
        events are recomputed under the new key whatever their date. -#}
    {%- if is_incremental() -%}
        set variable customer_events_window_end = (
            select max(loads.business_date) from {{ ref('int_business_date_loads') }} as loads
        );
        set variable customer_events_window_start = least(
            {{ customer_events_window_start() }},
            (
                select min(orphaned.event_date) from {{ this }} as orphaned
                where orphaned.customer_key not in (
                    select current_versions.customer_key from {{ ref('int_customer_versions') }} as current_versions
                    where current_versions.is_current
                )
            )
        )
    {%- else -%}
        reset variable customer_events_window_start
    {%- endif -%}
{%- endmacro %}

{% macro spark__set_customer_events_window() -%}
    {#- Spark: none. A persistent view cannot read a session variable, so the rules read every
        date (customer_events_since) and int_customer_events selects the window from them. -#}
{%- endmacro %}


{% macro reset_customer_events_window() -%}
    {#- Post-hook of int_customer_events: forgets the window, so that the connection's later
        reads of the views get every date. -#}
    {{- return(adapter.dispatch('reset_customer_events_window', 'bankdw')()) -}}
{%- endmacro %}

{% macro default__reset_customer_events_window() -%}
    reset variable customer_events_window_start;
    reset variable customer_events_window_end
{%- endmacro %}

{% macro spark__reset_customer_events_window() -%}
{%- endmacro %}


{% macro customer_events_since(date_column, lookback_days=0) -%}
    {{- return(adapter.dispatch('customer_events_since', 'bankdw')(date_column, lookback_days)) -}}
{%- endmacro %}

{% macro default__customer_events_since(date_column, lookback_days) -%}
    {#- In a rule of the customer events: true for the rows the rule needs tonight, those
        dated from the window int_customer_events set (set_customer_events_window) less
        `lookback_days`, the rule's own look-back (a baseline, the day before); true for
        every row when no window is set. DuckDB folds the variable into a constant, so the
        date filter reaches the Parquet scans. -#}
    (
        cast(getvariable('customer_events_window_start') as date) is null
        or {{ date_column }} >= cast(getvariable('customer_events_window_start') as date) - {{ lookback_days }}
    )
{%- endmacro %}

{% macro spark__customer_events_since(date_column, lookback_days) -%}
    {#- Spark: every row (no window is set, spark__set_customer_events_window). A night's rules
        then read the whole history, as a full refresh does: the same events in the window, at
        the cost of the dates before it (docs/spark.md). -#}
    true
{%- endmacro %}


{% macro customer_events_delivered_since(date_column, lookback_days=0) -%}
    {#- customer_events_since on the business date that delivered a call (int_calls_keyed's
        business_date, int_lead_customer_facts' delivered_date), beside the condition on the
        call's own day: the agreement delivers a call on the day it ended, never before the day
        it started, and the feed gate's impossible_dates rule refuses a call that started more
        than its slack_days (gates.toml, 1 by default: a time stamp written in another time zone
        than the bank's) after its delivery's business date. So this keeps every call the day's
        condition does, from that many days earlier. It is the condition DuckDB takes to the lake
        files' statistics (a call's day is computed from a time stamp, which no statistic holds):
        a night keys its window's calls, not the history's. int_leads.py bounds its reads of the
        facts the same way (its config call_delivery_slack_days). With impossible_dates at
        "warning", a call admitted from further ahead is found by a full refresh, not by a night. -#}
    {{- customer_events_since(date_column, lookback_days | int + gate_slack_days('impossible_dates')) -}}
{%- endmacro %}


{% macro customer_events_shifted(date_column, shift_days, lookback_days=0) -%}
    {#- In a rule of the customer events: true for the rows the rule compares the window's days
        with, those dated `shift_days` before a day of the window (less `lookback_days`): from the
        window's start less both to its end (the latest delivered business date) less
        `shift_days`. A rule comparing each day with one a fixed time before (the balance drop)
        reads the window and this, not every day between. True for every row when no window is
        set. -#}
    {{- return(adapter.dispatch('customer_events_shifted', 'bankdw')(date_column, shift_days, lookback_days)) -}}
{%- endmacro %}

{% macro default__customer_events_shifted(date_column, shift_days, lookback_days) -%}
    (
        cast(getvariable('customer_events_window_start') as date) is null
        or (
            {{ date_column }} >= cast(getvariable('customer_events_window_start') as date)
            - {{ shift_days + lookback_days }}
            and (
                cast(getvariable('customer_events_window_end') as date) is null
                or {{ date_column }} <= cast(getvariable('customer_events_window_end') as date) - {{ shift_days }}
            )
        )
    )
{%- endmacro %}

{% macro spark__customer_events_shifted(date_column, shift_days, lookback_days) -%}
    {#- Spark: every row (no window is set: spark__customer_events_since). -#}
    true
{%- endmacro %}


{% macro get_incremental_replace_window_sql(arg_dict) -%}
    {#- A custom incremental strategy: replace every row of the target whose
        `window_column` is at or after `customer_events_window_start()` by the rows of the
        batch (which holds exactly those dates). Runs before the target changes, so the window
        is the one the batch was selected with. -#}
    {{- return(adapter.dispatch('get_incremental_replace_window_sql', 'bankdw')(arg_dict)) -}}
{%- endmacro %}

{% macro written_by_window(alias) -%}
    {#- The rows of `alias` (the model's CTE of every event) that a night of replace_window writes:
        those dated in the window, and every event of a customer key the table does not hold yet
        (a re-keyed customer, whatever the date) that the rules computed from all they need: in
        int_customer_events on DuckDB, the rules read from the window its pre-hook set (extended
        back to the earliest event of a key that is no longer a customer's) less each rule's own
        look-back, so what they return before that window comes from part of a baseline (a large
        flow judged against the days the night read, not the 90 before it) and is not written
        (customer_events_since: every date where no window is set, on Spark and in the mart, which
        copies the table's rows). The batch's side of replaced_by_window, for int_customer_events
        and the mart that copies its window. -#}
    {{ alias }}.{{ config.get('window_column') }} >= {{ customer_events_window_start() }}
        or (
            {{ alias }}.customer_key not in (select loaded.customer_key from {{ this }} as loaded)
            and {{ customer_events_since(alias ~ '.' ~ config.get('window_column')) }}
        )
{%- endmacro %}

{% macro replaced_by_window() -%}
    {#- The rows of the target (columns unqualified) that a night of replace_window replaces. -#}
    {{ config.get('window_column') }} >= {{ customer_events_window_start() }}
        or customer_key not in (
            select current_versions.customer_key from {{ ref('int_customer_versions') }} as current_versions
            where current_versions.is_current
        )
{%- endmacro %}

{% macro default__get_incremental_replace_window_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ target }}
    where
        {{ replaced_by_window() }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{% macro spark__get_incremental_replace_window_sql(arg_dict) -%}
    {#- Spark's Parquet tables cannot delete: the table is rewritten (rewrite_table) with the
        rows DuckDB's delete keeps (`except all` the replaced ones, as spark__delete_rows: a row
        whose condition is null stays) and the batch's. The kept rows are written before the
        table is, so the window is still the one the batch was selected with. -#}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    {%- set rows -%}
        select {{ columns }}
        from (
            select * from {{ target }} as replaced
            except all
            select * from {{ target }} as replaced
            where {{ replaced_by_window() }}
        ) as kept
        union all
        select {{ columns }} from {{ arg_dict['temp_relation'] }}
    {%- endset -%}
    {{- rewrite_table(target, rows) -}}
{%- endmacro %}


{% macro join_latest_load(loads, date_column) -%}
    {#- In int_customer_events: a left join of `loads` (int_business_date_loads, a CTE: one row
        per business date) on its latest business date at or before `date_column`. DuckDB's
        ASOF join; Spark has none: each date's row is joined on the dates from it to the next
        business date (a range join on a small table). -#}
    {{- return(adapter.dispatch('join_latest_load', 'bankdw')(loads, date_column)) -}}
{%- endmacro %}

{% macro default__join_latest_load(loads, date_column) -%}
    asof left join {{ loads }}
        on {{ date_column }} >= {{ loads }}.business_date
{%- endmacro %}

{% macro spark__join_latest_load(loads, date_column) -%}
    left join (
        select
            dated.*,
            lead(dated.business_date) over (order by dated.business_date) as next_business_date
        from {{ loads }} as dated
    ) as {{ loads }}
        on
            {{ date_column }} >= {{ loads }}.business_date
            and ({{ loads }}.next_business_date is null or {{ date_column }} < {{ loads }}.next_business_date)
{%- endmacro %}


{% macro get_incremental_replace_unsettled_leads_sql(arg_dict) -%}
    {#- A custom incremental strategy for int_leads (models/crm/leads.py resumes the contact
        rules at the night's window). The batch is the night's rows and a marker row (lead_id
        null) whose created_date is the window's first day. The target keeps the rows the night
        did not judge again, those settled before the window: a candidate that stopped waiting
        before it, a suppressed lead, a lead due before it and no longer open; every other row
        is deleted (a lead the corrected data no longer supports goes with it) and the batch's
        rows inserted, the marker never. These are exactly the rows int_leads reads back to
        resume from and writes again (the leads open or due from the window, the candidates
        waiting the day before it), so a night writes what it judged, not the table. A batch
        without a marker replaces the whole table. -#}
    {{- return(adapter.dispatch('get_incremental_replace_unsettled_leads_sql', 'bankdw')(arg_dict)) -}}
{%- endmacro %}

{% macro settled_before_leads_window(source) -%}
    {#- Whether a row of the target (columns unqualified) was settled before the window of the
        batch `source` (never null). -#}
    {%- set window -%}
        (select coalesce(min(marker.created_date), date '0001-01-01') from {{ source }} as marker where marker.lead_id is null)
    {%- endset -%}
    coalesce(
        created_date < {{ window }}
        and (
            (status = 'WAITING' and waited_until < {{ window }} - 1)
            or status = 'SUPPRESSED'
            or (status not in ('WAITING', 'OPEN') and due_date < {{ window }})
        ),
        false
    )
{%- endmacro %}

{% macro default__get_incremental_replace_unsettled_leads_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ target }}
    where not {{ settled_before_leads_window(source) }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
    where lead_id is not null
{%- endmacro %}

{% macro spark__get_incremental_replace_unsettled_leads_sql(arg_dict) -%}
    {#- Spark's Parquet tables cannot delete: the table is rewritten (rewrite_table) with the rows
        DuckDB's delete keeps and the batch's. -#}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    {%- set rows -%}
        select {{ columns }} from {{ target }}
        where {{ settled_before_leads_window(source) }}
        union all
        select {{ columns }} from {{ source }}
        where lead_id is not null
    {%- endset -%}
    {{- rewrite_table(target, rows) -}}
{%- endmacro %}
