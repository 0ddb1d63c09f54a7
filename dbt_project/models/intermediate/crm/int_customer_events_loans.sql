-- Events of a loan, from its daily states (int_loans_provisioned):
--   LOAN_ARREARS: days_past_due became positive (it was 0 the delivered day before).
--     measured_value is days_past_due, baseline_value the day before's. Severity 2.
--   LOAN_DOWNGRADE: the classification became worse (NORMAL, SPECIAL_MENTION, SUBSTANDARD,
--     DOUBTFUL, LOSS, in that order). measured_value and baseline_value are the rank of the
--     classification now and the day before (1 NORMAL ... 5 LOSS). Severity 3.
-- A loan's first delivered day judges nothing: there is no day before to compare with.
-- On an incremental night it reads the events' window and the day before (customer_events_since).
with loans as (

    select * from {{ ref('int_loans_provisioned') }}
    where {{ customer_events_since('business_date', 1) }}

),

ranked as (

    select
        loans.customer_key,
        loans.account_id,
        loans.business_date,
        loans.days_past_due,
        case loans.classification
            when 'NORMAL' then 1
            when 'SPECIAL_MENTION' then 2
            when 'SUBSTANDARD' then 3
            when 'DOUBTFUL' then 4
            when 'LOSS' then 5
        end as classification_rank
    from loans
    where loans.customer_key is not null

),

compared as (

    select
        ranked.*,
        lag(ranked.days_past_due) over (
            partition by ranked.account_id order by ranked.business_date
        ) as previous_days_past_due,
        lag(ranked.classification_rank) over (
            partition by ranked.account_id order by ranked.business_date
        ) as previous_classification_rank
    from ranked

),

final as (

    select
        compared.customer_key,
        compared.account_id,
        compared.business_date as event_date,
        'LOAN_ARREARS' as event_type,
        2 as severity,
        cast(compared.days_past_due as decimal(18, 2)) as measured_value,
        cast(compared.previous_days_past_due as decimal(18, 2)) as baseline_value
    from compared
    where
        compared.days_past_due > 0
        and compared.previous_days_past_due = 0
    union all
    select
        compared.customer_key,
        compared.account_id,
        compared.business_date as event_date,
        'LOAN_DOWNGRADE' as event_type,
        3 as severity,
        cast(compared.classification_rank as decimal(18, 2)) as measured_value,
        cast(compared.previous_classification_rank as decimal(18, 2)) as baseline_value
    from compared
    where compared.classification_rank > compared.previous_classification_rank

)

select * from final
