-- Every run's checks, kept in the lake because the warehouse file is rebuilt each run.
-- The build adds its own dbt test results to this table before it is published.
-- The source reads all of `_audit/`; the typed empty row set gives the columns even before
-- the first check file exists, and only the files under `_audit/checks/` are kept.
with no_checks as (

    select
        cast(null as varchar) as run_id,
        cast(null as timestamptz) as checked_at,
        cast(null as varchar) as stage,
        cast(null as varchar) as check_id,
        cast(null as varchar) as subject,
        cast(null as varchar) as check_name,
        cast(null as varchar) as column_name,
        cast(null as varchar) as severity,
        cast(null as varchar) as outcome,
        cast(null as bigint) as failing_rows,
        cast(null as varchar) as examples,
        cast(null as varchar) as note
    where false

),

audit_files as (

    select * from {{ source('lake_audit', 'checks') }}

),

checks as (

    select * from no_checks
    union all by name
    select * from audit_files
    where audit_files.filename like '%/_audit/checks/%'

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
