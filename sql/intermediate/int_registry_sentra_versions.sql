-- Every ingested registry row with the standing of the submission it came from: whether that
-- file is the latest version of its (province, period), and whether it is the current registry.
with rows_ as (
    select * from stg_registry__sentra
),

final as (
    select
        rows_.*,
        submissions.is_latest_version,
        submissions.is_current
    from rows_
    inner join int_registry_submissions as submissions
        on rows_.province_code = submissions.province_code
        and rows_.period = submissions.period
        and rows_.source_sha256 = submissions.source_sha256
)

select * from final
