-- A failure means the credit cost in a profitability mart (accounts, customers, products,
-- branches, relationship managers, segments or the bank) does not follow from the loan
-- book: finance would book provisions the loans do not require. Per month, the credit cost
-- of every mart, and the required provision summed over accounts, must follow from the
-- outstanding principal x provision rate of every loan the loans feed delivered on the
-- month-end date: the credit cost must equal the month's required provision minus the previous month's
-- (in the first month, minus the provision on the first date delivered) plus write-offs.
-- Recomputed here from the staged loans feed, independently of the marts' own logic: a
-- write-off is the last outstanding principal of a loan last delivered classified LOSS
-- before the latest date, charged in the first month whose month end no longer has it.
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

last_states as (

    select
        loans.account_id,
        max(loans.business_date) as last_date,
        {{ arg_max('loans.classification', 'loans.business_date') }} as last_classification,
        {{ arg_max('loans.outstanding_principal', 'loans.business_date') }} as last_outstanding_principal
    from loans
    group by loans.account_id

),

exit_months as (

    select
        last_states.account_id,
        min(month_ends.month_start) as month_start
    from last_states
    inner join month_ends
        on last_states.last_date < month_ends.month_end_date
    where last_states.last_classification = 'LOSS'
    group by last_states.account_id

),

write_offs as (

    select
        exit_months.month_start,
        sum(last_states.last_outstanding_principal) as write_off
    from exit_months
    inner join last_states
        on exit_months.account_id = last_states.account_id
    group by exit_months.month_start

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
        ) + coalesce(write_offs.write_off, 0) as credit_cost
    from book
    left join write_offs
        on book.month_start = write_offs.month_start

),

reported_provisions as (

    select
        profitability.month_start,
        coalesce(sum(profitability.required_provision), 0) as required_provision
    from {{ ref('fct_account_profitability_monthly') }} as profitability
    group by profitability.month_start

),

reported_credit_costs as (

    {{ profitability_marts_monthly_sum('credit_cost') }}

),

reported as (

    select
        reported_credit_costs.view_name,
        reported_credit_costs.month_start,
        reported_provisions.required_provision,
        reported_credit_costs.credit_cost
    from reported_credit_costs
    left join reported_provisions
        on reported_credit_costs.month_start = reported_provisions.month_start

),

views as (

    select distinct reported_credit_costs.view_name
    from reported_credit_costs

),

compared as (

    select
        views.view_name,
        expected.month_start,
        expected.required_provision,
        expected.credit_cost
    from expected
    cross join views

)

select
    coalesce(compared.view_name, reported.view_name) as view_name,
    coalesce(compared.month_start, reported.month_start) as month_start,
    compared.required_provision as book_required_provision,
    reported.required_provision as reported_required_provision,
    compared.credit_cost as book_credit_cost,
    reported.credit_cost as reported_credit_cost
from compared
full outer join reported
    on
        compared.view_name = reported.view_name
        and compared.month_start = reported.month_start
where
    coalesce(compared.month_start, reported.month_start) in (select month_ends.month_start from month_ends)
    and (
        compared.required_provision is distinct from reported.required_provision
        or compared.credit_cost is distinct from reported.credit_cost
    )
