-- Net interest income of every account and month, accrued day by day on the calendar-day
-- balance (int_account_balances_daily_filled), positive amounts:
--   assets (loans, cards):   balance x (customer rate - FTP rate)
--   liabilities (deposits):  balance x (FTP rate - customer rate)
--   off-balance products:    no interest margin
-- each divided by 100 (rates are percent) and by the day count (365 for ACT/365, 360 for
-- ACT/360). Summed over the month this is avg_balance x margin x days / day_count when the
-- rates are constant. The FTP rate of the day comes from int_ftp_rates_daily (curve,
-- matched maturity or behavioural strips).
-- The customer rate is the account snapshot's rate of that day (carried forward), or the
-- account's current rate for days before the first account snapshot.
-- customer_interest is the same accrual at the customer rate alone (balance x customer rate
-- / 100 / day count): the interest the bank owes or charges the customer, which the ledger
-- books (INTEREST_CREDIT, INTEREST_CHARGE, accrued_interest).
--
-- Incremental by month (macros/incremental.sql, strategy replace_tail), so that a night reads
-- the days of the months it changes: every account's months from the month of the earliest
-- filled day written since this table's watermark (as_of_load_id), and every month of an
-- account priced again whole tonight (int_ftp_rates_daily: its legs changed) or whose balance
-- side or current rate changed (`account_fingerprint`: a full refresh applies today's to every
-- month).
{#- On Spark partitioned by month_start (incremental_by_tail), and the night's restart CTEs computed
    once (computed_once): macros/engines.sql. -#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_tail('account_id', 'month_start'),
    )
}}

with {% call computed_once(['restart', 'recomputed_accounts']) -%}
accounts as (

    select
        resolved.*,
        md5(concat_ws('|', resolved.balance_side, resolved.interest_rate_pct)) as account_fingerprint
    from {{ ref('int_accounts_resolved') }} as resolved

),

{% if is_incremental() %}
    watermark_before as (

        select coalesce(max(kept.as_of_load_id), '') as as_of_load_id
        from {{ this }} as kept

    ),

    restart as (

        select
            cast(
                date_trunc(
                    'month',
                    {{
                        reprocess_from(
                            ref('int_account_balances_daily_filled'), 'balance_date', 'as_of_load_id', 'as_of_load_id',
                            system='core_banking'
                        )
                    }}
                ) as date
            ) as restart_date

    ),

    recomputed_accounts as (

        select priced.account_id
        from {{ ref('int_ftp_rates_daily') }} as priced
        where
            priced.as_of_load_id > (select watermark_before.as_of_load_id from watermark_before)
            and priced.rebuilt_from = date '0001-01-01'

        union

        {{ keys_with_changed_fingerprint('account_id', 'account_fingerprint', 'accounts') }}

    ),
{% else %}
    restart as (

        select date '0001-01-01' as restart_date

    ),

    recomputed_accounts as (

        select cast(null as {{ string_type() }}) as account_id
        where false

    ),
{% endif %}
{%- endcall %}

balances as (

    select
        filled.account_id,
        filled.balance_date,
        filled.ledger_balance,
        filled.interest_rate_pct,
        filled.as_of_load_id,
        case
            when filled.account_id in (select recomputed_accounts.account_id from recomputed_accounts)
                then date '0001-01-01'
            else restart.restart_date
        end as rebuilt_from
    from {{ ref('int_account_balances_daily_filled') }} as filled
    cross join restart
    where
        filled.balance_date >= restart.restart_date
        or filled.account_id in (select recomputed_accounts.account_id from recomputed_accounts)

),

ftp_rates as (

    select
        priced.account_id,
        priced.balance_date,
        priced.ftp_rate_pct
    from {{ ref('int_ftp_rates_daily') }} as priced
    cross join restart
    where
        priced.balance_date >= restart.restart_date
        or priced.account_id in (select recomputed_accounts.account_id from recomputed_accounts)

),

watermark as (

    -- with the night's load even if no filled day came of it (a re-delivery that withdrew a date)
    select greatest(max(balances.as_of_load_id), {{ newer_load_id('core_banking') }}) as as_of_load_id
    from balances

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

daily as (

    select
        balances.account_id,
        cast(date_trunc('month', balances.balance_date) as date) as month_start,
        balances.rebuilt_from,
        accounts.account_fingerprint,
        balances.balance_date,
        accounts.balance_side,
        cast(abs(balances.ledger_balance) as decimal(38, 4)) as balance_amount,
        coalesce(balances.interest_rate_pct, accounts.interest_rate_pct) as customer_rate_pct,
        coalesce(ftp_rates.ftp_rate_pct, 0) as ftp_rate_pct,
        assumptions.day_count
    from balances
    inner join accounts
        on balances.account_id = accounts.account_id
    left join ftp_rates
        on
            balances.account_id = ftp_rates.account_id
            and balances.balance_date = ftp_rates.balance_date
    cross join assumptions

),

daily_margin as (

    select
        daily.*,
        cast(
            case daily.balance_side
                when 'ASSET' then daily.customer_rate_pct - daily.ftp_rate_pct
                when 'LIABILITY' then daily.ftp_rate_pct - daily.customer_rate_pct
                else 0
            end as decimal(38, 6)
        ) as margin_rate_pct
    from daily

),

monthly as (

    select
        daily_margin.account_id,
        daily_margin.month_start,
        count(*) as n_days_on_book,
        min(daily_margin.balance_date) as first_balance_date,
        max(daily_margin.balance_date) as last_balance_date,
        sum(daily_margin.balance_amount) as balance_day_sum,
        -- one division per account and month, rounded to the cent
        cast(
            {{ rounded_quotient('sum(daily_margin.balance_amount)', 'count(*)', 2) }} as decimal(18, 2)
        ) as avg_balance,
        -- balance-weighted rates of the month (what the worked example multiplies out)
        cast(
            {{
                rounded_quotient(
                    'sum(daily_margin.balance_amount * daily_margin.customer_rate_pct)',
                    'nullif(sum(daily_margin.balance_amount), 0)',
                    6,
                )
            }} as decimal(18, 6)
        ) as customer_rate_pct,
        cast(
            {{
                rounded_quotient(
                    'sum(daily_margin.balance_amount * daily_margin.ftp_rate_pct)',
                    'nullif(sum(daily_margin.balance_amount), 0)',
                    6,
                )
            }} as decimal(18, 6)
        ) as ftp_rate_pct,
        max(daily_margin.day_count) as day_count,
        -- the customer's own interest (income on assets, expense on liabilities), what the
        -- ledger books: reconciled to it in tests/assert_interest_reconciles_to_ledger.sql
        cast(
            {{
                rounded_quotient(
                    'sum(daily_margin.balance_amount * daily_margin.customer_rate_pct)',
                    '(100 * max(daily_margin.day_count))',
                    2,
                )
            }}
            as decimal(18, 2)
        ) as customer_interest,
        cast(
            {{
                rounded_quotient(
                    'sum(daily_margin.balance_amount * daily_margin.margin_rate_pct)',
                    '(100 * max(daily_margin.day_count))',
                    2,
                )
            }}
            as decimal(18, 2)
        ) as net_interest_income,
        -- lineage of the incremental build, the same on every day of the account's month
        max(daily_margin.account_fingerprint) as account_fingerprint,
        max(daily_margin.rebuilt_from) as rebuilt_from
    from daily_margin
    group by daily_margin.account_id, daily_margin.month_start

),

final as (

    select
        monthly.*,
        watermark.as_of_load_id
    from monthly
    cross join watermark

)

select * from final
{% if is_incremental() %}
    -- a marker the strategy does not insert (macros/incremental.sql): the night's restart, so that
    -- a night that rebuilds only whole accounts (no new days) keeps every other account's months
    union all
    select
        null as account_id,
        null as month_start,
        null as n_days_on_book,
        null as first_balance_date,
        null as last_balance_date,
        null as balance_day_sum,
        null as avg_balance,
        null as customer_rate_pct,
        null as ftp_rate_pct,
        null as day_count,
        null as customer_interest,
        null as net_interest_income,
        null as account_fingerprint,
        restart.restart_date as rebuilt_from,
        null as as_of_load_id
    from restart
{% endif %}
