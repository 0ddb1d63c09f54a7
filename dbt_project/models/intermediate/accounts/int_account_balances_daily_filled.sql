-- Every account on every calendar day from its first to its last end-of-day balance, with
-- the balance and the customer rate carried forward over days the core did not deliver
-- (a weekend, a holiday): interest accrues on calendar days, not on delivery days.
--
-- Incremental (macros/incremental.sql, strategy replace_tail), so that a night costs the days
-- it brings: the restart is the earliest balance or account snapshot date that a load newer
-- than the table's watermark (its latest as_of_load_id) delivered. Every row from the restart
-- on is replaced; an account's days before it stay, and its last one (the seed) carries its
-- balance and rate into the days rebuilt: the calendar days between the seed and the restart
-- that the account had not reached yet (a weekend before the night's date), then the restart's
-- days. Since every account's days run unbroken from its first to its last balance, the seed
-- is the account's last row before the restart, and the rows are those of a full refresh.
{#- On Spark partitioned by balance_date, a night overwriting the partitions from its restart
    (incremental_by_tail, macros/engines.sql). -#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_tail('account_id', 'balance_date'),
    )
}}

with restart as (

    {% if is_incremental() %}
        select
            least(
                {{ reprocess_from(ref('stg_core_banking__balances'), 'business_date', 'as_of_load_id', system='core_banking') }},
                {{ reprocess_from(ref('stg_core_banking__accounts'), 'snapshot_date', 'as_of_load_id') }}
            ) as restart_date
    {% else %}
        select date '0001-01-01' as restart_date
    {% endif %}

),

balances as (

    select source_balances.*
    from {{ ref('stg_core_banking__balances') }} as source_balances
    where source_balances.business_date >= (select restart.restart_date from restart)

),

account_snapshots as (

    select source_snapshots.*
    from {{ ref('stg_core_banking__accounts') }} as source_snapshots
    where source_snapshots.snapshot_date >= (select restart.restart_date from restart)

),

watermark as (

    select max(loads._load_id) as as_of_load_id
    from (
        select balances._load_id from balances
        union all
        select account_snapshots._load_id from account_snapshots
        union all
        -- the night's load even if it brought no row from the restart on (a re-delivery that
        -- withdrew a date's balances), so that the next night does not take it for new again
        select {{ newer_load_id('core_banking') }}
    ) as loads

),

seeds as (

    {% if is_incremental() %}
        -- each account's last day before the restart, as the table holds it
        select
            kept.account_id,
            max(kept.balance_date) as balance_date,
            {{ arg_max('kept.ledger_balance', 'kept.balance_date') }} as ledger_balance,
            {{ arg_max('kept.interest_rate_pct', 'kept.balance_date') }} as interest_rate_pct
        from {{ this }} as kept
        where kept.balance_date < (select restart.restart_date from restart)
        group by kept.account_id
    {% else %}
        select
            cast(null as {{ string_type() }}) as account_id,
            cast(null as date) as balance_date,
            cast(null as decimal(18, 4)) as ledger_balance,
            cast(null as decimal(18, 4)) as interest_rate_pct
        where false
    {% endif %}

),

account_spans as (

    select
        balances.account_id,
        min(balances.business_date) as first_balance_date,
        max(balances.business_date) as last_balance_date
    from balances
    group by balances.account_id

),

account_days as (

    select
        account_spans.account_id,
        {{
            days_from_to(
                'coalesce(seeds.balance_date + 1, account_spans.first_balance_date)', 'account_spans.last_balance_date'
            )
        }} as balance_date
    from account_spans
    left join seeds
        on account_spans.account_id = seeds.account_id

),

observed as (

    select
        account_days.account_id,
        account_days.balance_date,
        balances.ledger_balance,
        account_snapshots.interest_rate_pct,
        balances.account_id is not null as is_observed,
        false as is_seed
    from account_days
    left join balances
        on
            account_days.account_id = balances.account_id
            and account_days.balance_date = balances.business_date
    left join account_snapshots
        on
            account_days.account_id = account_snapshots.account_id
            and account_days.balance_date = account_snapshots.snapshot_date

    union all

    select
        seeds.account_id,
        seeds.balance_date,
        seeds.ledger_balance,
        seeds.interest_rate_pct,
        false as is_observed,
        true as is_seed
    from seeds
    where seeds.account_id in (select account_spans.account_id from account_spans)

),

filled as (

    select
        observed.account_id,
        observed.balance_date,
        observed.is_observed,
        observed.is_seed,
        {{ last_non_null('observed.ledger_balance') }} over account_history as ledger_balance,
        {{ last_non_null('observed.interest_rate_pct') }} over account_history as interest_rate_pct
    from observed
    window account_history as (
        partition by observed.account_id
        order by observed.balance_date
        rows between unbounded preceding and current row
    )

),

final as (

    select
        filled.account_id,
        filled.balance_date,
        filled.is_observed,
        filled.ledger_balance,
        filled.interest_rate_pct,
        restart.restart_date as rebuilt_from,
        watermark.as_of_load_id
    from filled
    cross join restart
    cross join watermark
    where not filled.is_seed

)

select * from final
