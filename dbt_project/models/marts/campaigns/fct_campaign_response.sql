-- One row per outbound campaign and customer segment: contacted, responded, converted and the
-- contribution of the converted customers in the three months after the campaign's month
-- beside a matched uncontacted group of the same segment (int_campaign_response).
with response as (

    select * from {{ ref('int_campaign_response') }}

),

final as (

    select
        response.campaign_id,
        response.segment,
        response.campaign_month,
        response.first_call_date,
        response.last_call_date,
        response.contacted,
        response.responded,
        cast(response.responded / response.contacted as decimal(9, 6)) as response_rate,
        response.converted,
        cast(response.converted / response.contacted as decimal(9, 6)) as conversion_rate,
        response.months_observed,
        case when response.months_observed > 0 then response.contribution_3m_converted end
            as contribution_3m_converted,
        response.matched_uncontacted,
        case when response.months_observed > 0 then response.contribution_3m_matched end
            as contribution_3m_matched,
        case
            when response.months_observed > 0
                then cast(
                        response.contribution_3m_converted
                        - response.contribution_3m_matched as decimal(18, 2)
                    )
        end as contribution_3m_uplift
    from response

)

select * from final
