-- A failure means the RM scorecards do not add up to the bank: a customer's month is
-- credited to two RMs at once, to none, or at shares that do not add up to one, so the
-- leaderboard pays out more (or less) than the bank earned. Per month, the scorecards'
-- contribution, AUM and loans (every RM and the row of customers without one) must equal
-- the accounts' own figures (fct_account_profitability_monthly: contribution, and the average
-- balances by side), to the cent of each customer's rounded share.
with scorecards as (

    select * from {{ ref('fct_rm_scorecard_monthly') }}

),

accounts as (

    select * from {{ ref('fct_account_profitability_monthly') }}

),

bank as (

    select
        accounts.month_start,
        sum(accounts.contribution) as contribution,
        sum(accounts.avg_balance) filter (where accounts.balance_side = 'LIABILITY') as aum,
        sum(accounts.avg_balance) filter (where accounts.balance_side = 'ASSET') as loans,
        count(*) as n_accounts
    from accounts
    group by accounts.month_start

),

scored as (

    select
        scorecards.month_start,
        sum(scorecards.contribution) as contribution,
        sum(scorecards.aum) as aum,
        sum(scorecards.loans) as loans
    from scorecards
    group by scorecards.month_start

),

final as (

    select
        bank.month_start,
        bank.contribution as bank_contribution,
        scored.contribution as scorecard_contribution,
        bank.aum as bank_aum,
        scored.aum as scorecard_aum,
        bank.loans as bank_loans,
        scored.loans as scorecard_loans
    from bank
    full outer join scored
        on bank.month_start = scored.month_start
    where
        scored.month_start is null
        or bank.month_start is null
        or abs(bank.contribution - scored.contribution) > 0.01 * bank.n_accounts
        or abs(coalesce(bank.aum, 0) - coalesce(scored.aum, 0)) > 0.01 * bank.n_accounts
        or abs(coalesce(bank.loans, 0) - coalesce(scored.loans, 0)) > 0.01 * bank.n_accounts

)

select * from final
