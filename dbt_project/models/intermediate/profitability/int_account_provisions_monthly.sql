-- The loan book at every month end and the credit cost of every loan and month:
--   required_provision  outstanding principal x provision rate of the five-tier
--                       classification (provision_rates seed), at month end; 0 when the
--                       loan is not on book then
--   opening_provision   the previous month end's required provision; in the first month
--                       of the data, the provision the loan required on the first business
--                       date delivered (the book the data opens with), 0 for a loan first
--                       seen later (a new disbursement)
--   write_off           the outstanding principal of a loan that left the book classified
--                       LOSS before the latest delivered date (it was written off, not repaid)
--   credit_cost         required_provision - opening_provision + write_off
-- Month end is the last date of the month the loans feed delivered (the latest date for the
-- current month). The month after a loan leaves the feed releases its provision.
with loans as (

    select * from {{ ref('stg_core_banking__loans') }}

),

provision_rates as (

    select * from {{ ref('provision_rates') }}

),

loans_provisioned as (

    select
        loans.*,
        provision_rates.provision_rate,
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
    from loans
    left join provision_rates
        on loans.classification = provision_rates.classification

),

data_span as (

    select
        min(loans.business_date) as first_business_date,
        max(loans.business_date) as last_business_date
    from loans

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
        loans_provisioned.account_id,
        min(loans_provisioned.business_date) as first_date,
        max(loans_provisioned.business_date) as last_date,
        {{ arg_max('loans_provisioned.classification', 'loans_provisioned.business_date') }}
            as last_classification,
        {{ arg_max('loans_provisioned.outstanding_principal', 'loans_provisioned.business_date') }}
            as last_outstanding_principal,
        {{ arg_min('loans_provisioned.required_provision', 'loans_provisioned.business_date') }}
            as first_required_provision
    from loans_provisioned
    group by loans_provisioned.account_id

),

-- the month whose month end first finds a loan gone (none for loans still on book)
loan_exits as (

    select
        loan_spans.account_id,
        min(month_ends.month_start) as exit_month_start
    from loan_spans
    inner join month_ends
        on loan_spans.last_date < month_ends.month_end_date
    group by loan_spans.account_id

),

loan_months as (

    select
        loan_spans.*,
        month_ends.month_start,
        month_ends.month_end_date
    from loan_spans
    inner join month_ends
        on
            cast(date_trunc('month', loan_spans.first_date) as date) <= month_ends.month_start
            and month_ends.month_start <= {{ months_after('loan_spans.last_date', 1) }}

),

month_end_state as (

    select
        loan_months.account_id,
        loan_months.month_start,
        loan_months.month_end_date,
        loans_provisioned.account_id is not null as is_on_book,
        loans_provisioned.outstanding_principal,
        loans_provisioned.days_past_due,
        loans_provisioned.classification,
        loans_provisioned.provision_rate,
        coalesce(loans_provisioned.required_provision, 0) as required_provision,
        case
            when loan_months.first_date = data_span.first_business_date
                then loan_months.first_required_provision
            else 0
        end as provision_at_entry,
        cast(
            case
                when
                    loan_months.month_start = loan_exits.exit_month_start
                    and loan_months.last_classification = 'LOSS'
                    then loan_months.last_outstanding_principal
                else 0
            end as decimal(18, 2)
        ) as write_off
    from loan_months
    cross join data_span
    left join loan_exits
        on loan_months.account_id = loan_exits.account_id
    left join loans_provisioned
        on
            loan_months.account_id = loans_provisioned.account_id
            and loan_months.month_end_date = loans_provisioned.business_date

),

final as (

    select
        month_end_state.account_id,
        month_end_state.month_start,
        month_end_state.month_end_date,
        month_end_state.is_on_book,
        month_end_state.outstanding_principal,
        month_end_state.days_past_due,
        month_end_state.classification,
        month_end_state.provision_rate,
        month_end_state.required_provision,
        coalesce(
            lag(month_end_state.required_provision) over loan_history,
            month_end_state.provision_at_entry
        ) as opening_provision,
        month_end_state.write_off
    from month_end_state
    window loan_history as (partition by month_end_state.account_id order by month_end_state.month_start)

)

select
    final.*,
    -- (a decimal(18, 2) on both engines: Spark widens a sum of two to 19 digits, DuckDB does not)
    cast(
        final.required_provision - final.opening_provision + final.write_off as decimal(18, 2)
    ) as credit_cost
from final
