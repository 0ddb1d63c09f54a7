-- A failure means the credit cost in the profitability marts does not follow from the loan
-- book: per month, the required provision summed over accounts must equal outstanding
-- principal x provision rate of every loan the loans feed delivered on the month-end date,
-- and the credit cost must equal the month's required provision minus the previous month's
-- (in the first month, minus the provision on the first date delivered) plus write-offs.
-- Recomputed here from the staged loans feed, independently of the marts' own logic.
with loans as (

    select * from {{ ref('stg_core_banking__loans') }}

),

provision_rates as (

    select * from {{ ref('provision_rates') }}

),

loans_provisioned as (

    select
        loans.business_date,
        loans.account_id,
        round(
            cast(loans.outstanding_principal as decimal(38, 4))
            * cast(provision_rates.provision_rate as decimal(38, 6)),
            2
        ) as required_provision
    from loans
    inner join provision_rates
        on loans.classification = provision_rates.classification

),

month_ends as (

    select
        cast(date_trunc('month', loans.business_date) as date) as month_start,
        max(loans.business_date) as month_end_date
    from loans
    group by cast(date_trunc('month', loans.business_date) as date)

),

first_delivery as (

    select min(loans.business_date) as business_date
    from loans

),

opening_stock as (

    select sum(loans_provisioned.required_provision) as required_provision
    from loans_provisioned
    inner join first_delivery
        on loans_provisioned.business_date = first_delivery.business_date

),

book as (

    select
        month_ends.month_start,
        coalesce(sum(loans_provisioned.required_provision), 0) as required_provision
    from month_ends
    left join loans_provisioned
        on month_ends.month_end_date = loans_provisioned.business_date
    group by month_ends.month_start

),

expected as (

    select
        book.month_start,
        book.required_provision,
        book.required_provision - coalesce(
            lag(book.required_provision) over (order by book.month_start),
            (select opening_stock.required_provision from opening_stock)
        ) as provision_change
    from book

),

reported as (

    select
        profitability.month_start,
        coalesce(sum(profitability.required_provision), 0) as required_provision,
        sum(profitability.credit_cost) as credit_cost,
        sum(profitability.write_off) as write_off
    from {{ ref('fct_account_profitability_monthly') }} as profitability
    group by profitability.month_start

)

select
    coalesce(expected.month_start, reported.month_start) as month_start,
    expected.required_provision as book_required_provision,
    reported.required_provision as reported_required_provision,
    expected.provision_change + coalesce(reported.write_off, 0) as book_credit_cost,
    reported.credit_cost as reported_credit_cost
from expected
full outer join reported
    on expected.month_start = reported.month_start
where
    coalesce(expected.month_start, reported.month_start) in (select month_ends.month_start from month_ends)
    and (
        expected.required_provision is distinct from reported.required_provision
        or expected.provision_change + coalesce(reported.write_off, 0) is distinct from reported.credit_cost
    )
