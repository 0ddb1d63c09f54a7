-- How every account's balance is funds-transfer priced: one or more legs, each a share of
-- the balance at a tenor of the FTP curve.
--   term products (a contractual term: time deposits, term loans): one MATCHED leg at the
--     product's term (or open date to maturity date when the product has none), priced on
--     the curve in force on the pricing date (maturity date minus the term, i.e. the last
--     rollover or the disbursement; the open date when the maturity is unknown) and locked
--     for the life of the contract;
--   products in the ftp_behavioural_strips seed (current and savings accounts, card
--     revolving balances): one leg per strip (core, volatile, ...) at the strip's tenor,
--     repriced every day on the curve in force that day (pricing_date null);
--   anything else: one DEFAULT leg at default_ftp_tenor_months, repriced daily.
with accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

products as (

    select * from {{ ref('int_products_current') }}

),

strips as (

    select * from {{ ref('ftp_behavioural_strips') }}

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

account_terms as (

    select
        accounts.account_id,
        accounts.product_type,
        accounts.open_date,
        accounts.maturity_date,
        coalesce(
            products.term_months,
            case
                when accounts.maturity_date > accounts.open_date
                    then {{ months_crossed('accounts.open_date', 'accounts.maturity_date') }}
            end
        ) as term_months
    from accounts
    left join products
        on accounts.product_code = products.product_code

),

matched_legs as (

    select
        account_terms.account_id,
        'MATCHED' as strip,
        cast(1 as decimal(18, 6)) as share,
        cast(account_terms.term_months as integer) as tenor_months,
        coalesce(
            cast(
                {{
                    months_before('account_terms.maturity_date', 'cast(account_terms.term_months as integer)')
                }}
                as date
            ),
            account_terms.open_date
        ) as pricing_date
    from account_terms
    where account_terms.term_months > 0

),

strip_legs as (

    select
        account_terms.account_id,
        strips.strip,
        strips.share,
        strips.tenor_months,
        cast(null as date) as pricing_date
    from account_terms
    inner join strips
        on account_terms.product_type = strips.product_type
    where coalesce(account_terms.term_months, 0) = 0

),

default_legs as (

    select
        account_terms.account_id,
        'DEFAULT' as strip,
        cast(1 as decimal(18, 6)) as share,
        cast(assumptions.default_ftp_tenor_months as integer) as tenor_months,
        cast(null as date) as pricing_date
    from account_terms
    cross join assumptions
    where
        coalesce(account_terms.term_months, 0) = 0
        and account_terms.product_type not in (select strips.product_type from strips)

),

final as (

    select * from matched_legs
    union all
    select * from strip_legs
    union all
    select * from default_legs

)

select * from final
