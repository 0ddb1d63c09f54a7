-- Every customer's contribution over the complete months of the window ending with the
-- last complete month before the as-of date (int_customer_as_of; var
-- contribution_window_months) and in that last month alone.
with customer_profitability as (

    select * from {{ ref('int_customer_profitability_monthly') }}

),

as_of as (

    select * from {{ ref('int_customer_as_of') }}

),

months_in_window as (

    select
        customer_profitability.customer_key,
        customer_profitability.contribution,
        customer_profitability.month_start = as_of.last_month_start as is_last_month
    from customer_profitability
    cross join as_of
    where
        customer_profitability.is_complete_month
        and customer_profitability.month_start >= as_of.contribution_window_start
        and customer_profitability.month_start <= as_of.last_month_start

),

final as (

    select
        months_in_window.customer_key,
        -- DuckDB's type of a sum of decimal(18, 2) (Spark's would have 28 digits)
        cast(
            sum(months_in_window.contribution) filter (where months_in_window.is_last_month) as decimal(38, 2)
        ) as contribution_last_month,
        cast(sum(months_in_window.contribution) as decimal(38, 2)) as contribution_in_window
    from months_in_window
    group by months_in_window.customer_key

)

select * from final
