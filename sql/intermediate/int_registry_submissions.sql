-- One row per registry submission of a province for a period, marking which version wins.
-- A submission is a full snapshot of a province for a period: the latest landed file for the same
-- (province, period) supersedes earlier ones, and the latest period is the current registry.
with submissions as (
    select distinct province_code, period, source_sha256, source_name, landed_at, received_at
    from stg_registry__sentra
),

versioned as (
    select
        *,
        row_number() over (
            partition by province_code, period
            order by landed_at desc, received_at desc, source_sha256 desc
        ) as version_rank
    from submissions
),

periods as (
    select
        *,
        dense_rank() over (partition by province_code order by period desc) as period_rank
    from versioned
    where version_rank = 1
),

final as (
    select
        versioned.province_code,
        versioned.period,
        versioned.source_sha256,
        versioned.source_name,
        versioned.landed_at,
        versioned.version_rank = 1 as is_latest_version,
        coalesce(periods.period_rank = 1, false) as is_current
    from versioned
    left join periods using (province_code, period, source_sha256)
)

select * from final
