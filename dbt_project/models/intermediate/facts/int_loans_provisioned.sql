-- Every delivered daily loan state with the account's unified customer and product, and the
-- provision its classification requires (outstanding principal x the seed's provision rate,
-- to the cent). A view (intermediate/facts/): fct_loan_daily selects the new dates from it.
with loans as (

    select * from {{ ref('stg_core_banking__loans') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

provision_rates as (

    select * from {{ ref('provision_rates') }}

),

final as (

    select
        loans.business_date,
        loans.account_id,
        accounts.customer_key,
        accounts.product_code,
        loans.principal_amount,
        loans.outstanding_principal,
        loans.interest_rate_pct,
        loans.disbursement_date,
        loans.maturity_date,
        loans.repayment_frequency,
        loans.days_past_due,
        loans.classification,
        loans.collateral_type,
        loans.collateral_value,
        cast(
            round(
                cast(loans.outstanding_principal as decimal(38, 4))
                * cast(provision_rates.provision_rate as decimal(38, 6)),
                2
            ) as decimal(18, 2)
        ) as required_provision,
        loans._load_id
    from loans
    left join accounts
        on loans.account_id = accounts.account_id
    left join provision_rates
        on loans.classification = provision_rates.classification

)

select * from final
