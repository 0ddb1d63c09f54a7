-- The FTP rate of every account on every calendar day it is on book: the share-weighted
-- rate of its legs (int_account_ftp_legs), each leg's rate read off the curve in force on
-- its pricing date (term legs, locked) or on the day itself (behavioural legs), linearly
-- interpolated between the two nearest tenors of that curve and held flat beyond its
-- shortest and longest tenor. A curve is in force from its curve_date until the next one;
-- dates before the first curve use the first.
--
-- Incremental (macros/incremental.sql, strategy replace_tail): a night prices the days of
-- int_account_balances_daily_filled from the earliest day that its rows written since this
-- table's watermark (as_of_load_id) hold, for every account. An account whose legs changed
-- since its rows were priced (a time deposit rolled over: a new pricing date) is priced again
-- on every day, as a full refresh prices every day with today's legs. A change of the curve
-- or of the strips is a change of the project, which the nightly run builds by a full refresh.
{#- On Spark partitioned by balance_date (incremental_by_tail), and the night's restart CTEs computed
    once (computed_once): macros/engines.sql. -#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_tail('account_id', 'balance_date'),
    )
}}

with {% call computed_once(['restart', 'repriced_accounts']) -%}
legs as (

    select * from {{ ref('int_account_ftp_legs') }}

),

account_legs as (

    -- what an account's rates depend on besides the curve and the day
    select
        legs.account_id,
        md5(
            {{
                ordered_string_agg(
                    "concat_ws('|', legs.strip, legs.share, legs.tenor_months, legs.pricing_date)", "';'", 'legs.strip'
                )
            }}
        ) as legs_fingerprint
    from legs
    group by legs.account_id

),

{% if is_incremental() %}
    restart as (

        select
            {{
                reprocess_from(
                    ref('int_account_balances_daily_filled'), 'balance_date', 'as_of_load_id', 'as_of_load_id',
                    system='core_banking'
                )
            }} as restart_date

    ),

    repriced_accounts as (

        {{ keys_with_changed_fingerprint('account_id', 'legs_fingerprint', 'account_legs') }}

    ),
{% else %}
    restart as (

        select date '0001-01-01' as restart_date

    ),

    repriced_accounts as (

        select cast(null as {{ string_type() }}) as account_id
        where false

    ),
{% endif %}
{%- endcall %}

balances as (

    select
        filled.account_id,
        filled.balance_date,
        filled.as_of_load_id,
        case
            when filled.account_id in (select repriced_accounts.account_id from repriced_accounts)
                then date '0001-01-01'
            else restart.restart_date
        end as rebuilt_from
    from {{ ref('int_account_balances_daily_filled') }} as filled
    cross join restart
    where
        filled.balance_date >= restart.restart_date
        or filled.account_id in (select repriced_accounts.account_id from repriced_accounts)

),

watermark as (

    -- with the night's load even if no filled day came of it (a re-delivery that withdrew a date)
    select greatest(max(balances.as_of_load_id), {{ newer_load_id('core_banking') }}) as as_of_load_id
    from balances

),

curve as (

    select * from {{ ref('ftp_curve') }}

),

curve_dates as (

    select distinct curve.curve_date
    from curve

),

curve_validity as (

    select
        curve_dates.curve_date,
        case
            when row_number() over (order by curve_dates.curve_date) = 1 then date '0001-01-01'
            else curve_dates.curve_date
        end as valid_from,
        coalesce(
            lead(curve_dates.curve_date) over (order by curve_dates.curve_date) - 1,
            date '9999-12-31'
        ) as valid_to
    from curve_dates

),

leg_tenors as (

    select distinct legs.tenor_months
    from legs

),

tenor_grid as (

    select
        curve_validity.curve_date,
        leg_tenors.tenor_months
    from curve_validity
    cross join leg_tenors

),

bracketed as (

    select
        tenor_grid.curve_date,
        tenor_grid.tenor_months,
        max(curve.tenor_months) filter (where curve.tenor_months <= tenor_grid.tenor_months) as lower_tenor,
        min(curve.tenor_months) filter (where curve.tenor_months >= tenor_grid.tenor_months) as upper_tenor
    from tenor_grid
    inner join curve
        on tenor_grid.curve_date = curve.curve_date
    group by tenor_grid.curve_date, tenor_grid.tenor_months

),

interpolated as (

    select
        bracketed.curve_date,
        bracketed.tenor_months,
        cast(
            case
                when bracketed.lower_tenor is null then upper_point.ftp_rate_pct
                when bracketed.upper_tenor is null then lower_point.ftp_rate_pct
                when bracketed.upper_tenor = bracketed.lower_tenor then lower_point.ftp_rate_pct
                -- the weight is a ratio of whole months, exact to 1e-9 before it scales the rate
                else
                    lower_point.ftp_rate_pct
                    + (upper_point.ftp_rate_pct - lower_point.ftp_rate_pct)
                    * cast(
                        (bracketed.tenor_months - bracketed.lower_tenor)
                        / (bracketed.upper_tenor - bracketed.lower_tenor)
                        as decimal(18, 9)
                    )
            end as decimal(18, 6)
        ) as ftp_rate_pct
    from bracketed
    left join curve as lower_point
        on
            bracketed.curve_date = lower_point.curve_date
            and bracketed.lower_tenor = lower_point.tenor_months
    left join curve as upper_point
        on
            bracketed.curve_date = upper_point.curve_date
            and bracketed.upper_tenor = upper_point.tenor_months

),

leg_days as (

    select
        balances.account_id,
        balances.balance_date,
        balances.rebuilt_from,
        legs.share,
        legs.tenor_months,
        coalesce(legs.pricing_date, balances.balance_date) as pricing_date
    from balances
    inner join legs
        on balances.account_id = legs.account_id

),

leg_rates as (

    select
        leg_days.account_id,
        leg_days.balance_date,
        leg_days.rebuilt_from,
        leg_days.share * interpolated.ftp_rate_pct as weighted_rate_pct
    from leg_days
    inner join curve_validity
        on leg_days.pricing_date between curve_validity.valid_from and curve_validity.valid_to
    inner join interpolated
        on
            curve_validity.curve_date = interpolated.curve_date
            and leg_days.tenor_months = interpolated.tenor_months

),

day_rates as (

    select
        leg_rates.account_id,
        leg_rates.balance_date,
        leg_rates.rebuilt_from,
        cast(sum(leg_rates.weighted_rate_pct) as decimal(18, 6)) as ftp_rate_pct
    from leg_rates
    group by leg_rates.account_id, leg_rates.balance_date, leg_rates.rebuilt_from

),

final as (

    select
        day_rates.account_id,
        day_rates.balance_date,
        day_rates.ftp_rate_pct,
        account_legs.legs_fingerprint,
        day_rates.rebuilt_from,
        watermark.as_of_load_id
    from day_rates
    inner join account_legs
        on day_rates.account_id = account_legs.account_id
    cross join watermark

)

select * from final
{% if is_incremental() %}
    -- a marker the strategy does not insert (macros/incremental.sql): the night's restart, so that
    -- a night that prices again only whole accounts (no new days) keeps every other account's days
    union all
    select
        null as account_id,
        null as balance_date,
        null as ftp_rate_pct,
        null as legs_fingerprint,
        restart.restart_date as rebuilt_from,
        null as as_of_load_id
    from restart
{% endif %}
