-- Required loan-loss provision of every loan at each month end, and the credit cost of the
-- month: month-end required provision minus the previous month-end's (the first month of a
-- loan in the data is measured against zero, so it carries the whole opening stock).
-- Month end is the last date of the month the loans feed delivered (the latest date for the
-- current month). A loan not on book at a month end needs no provision: the month after a
-- loan leaves the feed releases its provision.
with loans as (

    select * from {{ ref('stg_core_banking__loans') }}

),

provision_rates as (

    select * from {{ ref('provision_rates') }}

),

month_ends as (

    select
        cast(date_trunc('month', loans.business_date) as date) as month_start,
        max(loans.business_date) as month_end_date
    from loans
    group by cast(date_trunc('month', loans.business_date) as date)

),

loan_spans as (

    select
        loans.account_id,
        cast(date_trunc('month', min(loans.business_date)) as date) as first_month,
        cast(date_trunc('month', max(loans.business_date)) as date) as last_month
    from loans
    group by loans.account_id

),

loan_months as (

    select
        loan_spans.account_id,
        month_ends.month_start,
        month_ends.month_end_date
    from loan_spans
    inner join month_ends
        on
            loan_spans.first_month <= month_ends.month_start
            and month_ends.month_start <= loan_spans.last_month + interval 1 month

),

month_end_state as (

    select
        loan_months.account_id,
        loan_months.month_start,
        loan_months.month_end_date,
        loans.outstanding_principal,
        loans.classification,
        cast(
            round(
                coalesce(
                    cast(loans.outstanding_principal as decimal(38, 4))
                    * cast(provision_rates.provision_rate as decimal(38, 6)),
                    0
                ),
                2
            ) as decimal(18, 2)
        ) as required_provision
    from loan_months
    left join loans
        on
            loan_months.account_id = loans.account_id
            and loan_months.month_end_date = loans.business_date
    left join provision_rates
        on loans.classification = provision_rates.classification

),

final as (

    select
        month_end_state.*,
        month_end_state.required_provision - coalesce(
            lag(month_end_state.required_provision) over (
                partition by month_end_state.account_id order by month_end_state.month_start
            ),
            0
        ) as credit_cost
    from month_end_state

)

select * from final
