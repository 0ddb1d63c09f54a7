-- One row per customer with a relationship in a month: recency, frequency and monetary value,
-- their quintile scores, the cell and the named segment (int_customer_rfm_monthly, whose
-- header and docs/customer_value.md give the rules and windows).
with rfm as (

    select * from {{ ref('int_customer_rfm_monthly') }}

),

final as (

    select
        rfm.month_start,
        rfm.customer_key,
        cast(rfm.recency_days as bigint) as recency_days,
        cast(rfm.frequency as bigint) as frequency,
        rfm.monetary,
        rfm.r_score,
        rfm.f_score,
        rfm.m_score,
        rfm.rfm_cell,
        rfm.rfm_segment
    from rfm

)

select * from final
