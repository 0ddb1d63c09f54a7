{#
    The severity and tolerances of a rule of the gates configuration, for the warehouse tests
    that re-check a fact a feed rule already judged (assert_balances_roll_forward follows
    end_of_day_balance). They come from var('gates'), which bankdw/config.py renders from the
    gates configuration (setting gates_config, expectations/gates.toml): a rule is configured
    once, there, never in dbt.

    gate_severity(rule): 'error' (blocking) or 'warn' (warning), for a test's config(severity=...).
    gate_amount_tolerance(rule): the amount within which a difference is rounding, as a decimal.
    gate_share_tolerance(rule): the share of account-days judged that may break before the rule fails.
    gate_slack_days(rule): the days a date may lie after its delivery's business date (impossible_dates).
#}
{% macro gate_severity(rule) %}
    {{ return(var('gates')[rule]['severity']) }}
{% endmacro %}

{% macro gate_amount_tolerance(rule) %}
    {{ return('cast(' ~ var('gates')[rule]['amount_tolerance'] ~ ' as decimal(18, 4))') }}
{% endmacro %}

{% macro gate_share_tolerance(rule) %}
    {{ return(var('gates')[rule]['share_tolerance']) }}
{% endmacro %}

{% macro gate_slack_days(rule) %}
    {{ return(var('gates')[rule]['slack_days'] | int) }}
{% endmacro %}
