-- What every borrower owes the bank on the as-of date (int_customer_as_of): the worst
-- five-tier classification among the loans the customer holds as PRIMARY or JOINT holder,
-- non-performing when that is SUBSTANDARD, DOUBTFUL or LOSS, and the total exposure: drawn
-- amounts (loans' outstanding principal, cards' and overdrafts' debit balances) plus the
-- undrawn part of every credit limit of an open account, shared among holders by allocation
-- weight (int_account_holders_weighted) like customer_360's balances.
with account_holders as (

    select * from {{ ref('int_account_holders_weighted') }}
    where allocation_weight > 0

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

balances as (

    select * from {{ ref('int_account_balances_keyed') }}

),

loans as (

    select * from {{ ref('int_loans_provisioned') }}

),

as_of as (

    select * from {{ ref('int_customer_as_of') }}

),

account_exposure as (

    select
        accounts.account_id,
        loans.classification,
        case loans.classification
            when 'NORMAL' then 1 when 'SPECIAL_MENTION' then 2 when 'SUBSTANDARD' then 3
            when 'DOUBTFUL' then 4 when 'LOSS' then 5
        end as classification_rank,
        coalesce(
            loans.outstanding_principal,
            greatest(-cast(balances.ledger_balance as decimal(38, 4)), 0),
            0
        ) as drawn,
        greatest(
            coalesce(accounts.credit_limit, 0)
            - coalesce(
                loans.outstanding_principal, greatest(-cast(balances.ledger_balance as decimal(38, 4)), 0), 0
            ),
            0
        ) as undrawn
    from accounts
    cross join as_of
    left join balances
        on accounts.account_id = balances.account_id and as_of.as_of_date = balances.business_date
    left join loans
        on accounts.account_id = loans.account_id and as_of.as_of_date = loans.business_date
    where
        (accounts.close_date is null or accounts.close_date > as_of.as_of_date)
        and (loans.account_id is not null or accounts.credit_limit is not null or balances.ledger_balance < 0)

),

final as (

    select
        account_holders.customer_key,
        case max(account_exposure.classification_rank)
            when 1 then 'NORMAL' when 2 then 'SPECIAL_MENTION' when 3 then 'SUBSTANDARD'
            when 4 then 'DOUBTFUL' when 5 then 'LOSS'
        end as worst_loan_classification,
        coalesce(max(account_exposure.classification_rank) >= 3, false) as is_non_performing,
        cast(sum(account_exposure.drawn * account_holders.allocation_weight) as decimal(18, 2))
            as drawn_exposure,
        cast(sum(account_exposure.undrawn * account_holders.allocation_weight) as decimal(18, 2))
            as undrawn_exposure,
        cast(
            sum((account_exposure.drawn + account_exposure.undrawn) * account_holders.allocation_weight)
            as decimal(18, 2)
        ) as total_exposure
    from account_exposure
    inner join account_holders
        on account_exposure.account_id = account_holders.account_id
    group by account_holders.customer_key

)

select * from final
