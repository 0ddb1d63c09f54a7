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
with balances as (

    select * from {{ ref('int_account_balances_daily_filled') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

ftp_rates as (

    select * from {{ ref('int_ftp_rates_daily') }}

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

daily as (

    select
        balances.account_id,
        cast(date_trunc('month', balances.balance_date) as date) as month_start,
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
            sum(daily_margin.balance_amount) / count(*) as decimal(18, 2)
        ) as avg_balance,
        -- balance-weighted rates of the month (what the worked example multiplies out)
        cast(
            sum(daily_margin.balance_amount * daily_margin.customer_rate_pct)
            / nullif(sum(daily_margin.balance_amount), 0) as decimal(18, 6)
        ) as customer_rate_pct,
        cast(
            sum(daily_margin.balance_amount * daily_margin.ftp_rate_pct)
            / nullif(sum(daily_margin.balance_amount), 0) as decimal(18, 6)
        ) as ftp_rate_pct,
        max(daily_margin.day_count) as day_count,
        -- the customer's own interest (income on assets, expense on liabilities), what the
        -- ledger books: reconciled to it in tests/assert_interest_reconciles_to_ledger.sql
        cast(
            sum(daily_margin.balance_amount * daily_margin.customer_rate_pct)
            / (100 * max(daily_margin.day_count))
            as decimal(18, 2)
        ) as customer_interest,
        cast(
            sum(daily_margin.balance_amount * daily_margin.margin_rate_pct)
            / (100 * max(daily_margin.day_count))
            as decimal(18, 2)
        ) as net_interest_income
    from daily_margin
    group by daily_margin.account_id, daily_margin.month_start

)

select * from monthly
