-- Every run's checks, kept in the lake because the warehouse file is rebuilt each run.
-- The build adds its own dbt test results to this table before it is published.
-- The source reads all of `_audit/`, and only the files under `_audit/checks/` are kept: their
-- columns are the check history's, whose zero-row schema file (`_audit/checks/_empty.parquet`,
-- written before every build) gives them before the first check. Named, not `union all by name`
-- with a typed empty row set as before: Spark's SQL has no `union all by name` (docs/spark.md).
with audit_files as (

    select * from {{ source('lake_audit', 'checks') }}

),

checks as (

    select
        audit_files.run_id,
        audit_files.checked_at,
        audit_files.stage,
        audit_files.check_id,
        audit_files.subject,
        audit_files.check_name,
        audit_files.column_name,
        audit_files.severity,
        audit_files.outcome,
        audit_files.failing_rows,
        audit_files.examples,
        audit_files.note
    from audit_files
    where audit_files.filename like '%/_audit/checks/%'

),

final as (

    select
        cast(checks.run_id as {{ string_type() }}) as run_id,
        cast(checks.checked_at as {{ timestamptz_type() }}) as checked_at,
        cast(checks.stage as {{ string_type() }}) as stage,
        cast(checks.check_id as {{ string_type() }}) as check_id,
        cast(checks.subject as {{ string_type() }}) as subject,
        cast(checks.check_name as {{ string_type() }}) as check_name,
        cast(checks.column_name as {{ string_type() }}) as column_name,
        cast(checks.severity as {{ string_type() }}) as severity,
        cast(checks.outcome as {{ string_type() }}) as outcome,
        cast(checks.failing_rows as bigint) as failing_rows,
        cast(checks.examples as {{ string_type() }}) as examples,
        cast(checks.note as {{ string_type() }}) as note
    from checks

)

select * from final
