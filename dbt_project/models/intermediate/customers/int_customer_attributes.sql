-- What the customers feed says about a customer's work and means, which the golden record
-- does not carry: occupation, industry (corporates: ISIC rev.4 section) and annual income,
-- each from the most recently updated of the customer's records that has it (the address
-- rule of int_customers_unified_daily), and the income band (var income_band_edges).
{% set edges = var('income_band_edges') %}
with records as (

    select * from {{ ref('int_customers_current') }}

),

identity as (

    select * from {{ ref('int_customer_identity') }}

),

keyed as (

    select
        identity.customer_key,
        records.occupation,
        records.industry_code,
        records.annual_income,
        records.updated_at
    from records
    inner join identity
        on records.customer_id = identity.customer_id

),

latest as (

    select
        keyed.customer_key,
        {{ arg_max('keyed.occupation', 'keyed.updated_at') }}
        filter (where keyed.occupation is not null) as occupation,
        {{ arg_max('keyed.industry_code', 'keyed.updated_at') }}
        filter (where keyed.industry_code is not null) as industry_code,
        {{ arg_max('keyed.annual_income', 'keyed.updated_at') }}
        filter (where keyed.annual_income is not null) as annual_income
    from keyed
    group by keyed.customer_key

),

final as (

    select
        latest.customer_key,
        latest.occupation,
        latest.industry_code,
        cast(latest.annual_income as decimal(18, 2)) as annual_income,
        case
            when latest.annual_income is null then null
            when latest.annual_income < {{ edges[0] }} then 'UNDER_{{ edges[0] }}'
            {%- for low in edges[:-1] %}
                when latest.annual_income < {{ edges[loop.index] }} then '{{ low }}_{{ edges[loop.index] }}'
            {%- endfor %}
            else '{{ edges[-1] }}_AND_OVER'
        end as annual_income_band
    from latest

)

select * from final
