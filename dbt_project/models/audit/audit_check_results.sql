-- Every run's checks, kept in the lake because the warehouse file is rebuilt each run.
-- The build adds its own dbt test results to this table before it is published.
with checks as (

    select * from {{ source('lake_audit', 'checks') }}

),

final as (

    select
        cast(checks.run_id as varchar) as run_id,
        cast(checks.checked_at as timestamptz) as checked_at,
        cast(checks.stage as varchar) as stage,
        cast(checks.check_id as varchar) as check_id,
        cast(checks.subject as varchar) as subject,
        cast(checks.check_name as varchar) as check_name,
        cast(checks.column_name as varchar) as column_name,
        cast(checks.severity as varchar) as severity,
        cast(checks.outcome as varchar) as outcome,
        cast(checks.failing_rows as bigint) as failing_rows,
        cast(checks.examples as varchar) as examples,
        cast(checks.note as varchar) as note
    from checks

)

select * from final
