-- The current registry row of every sentra: from its province's current submission only.
with current_rows as (
    select sentra.*
    from stg_registry__sentra as sentra
    inner join int_registry_submissions as submissions
        on sentra.province_code = submissions.province_code
        and sentra.period = submissions.period
        and sentra.source_sha256 = submissions.source_sha256
    where submissions.is_current
),

final as (
    -- A sentra id listed by two provinces' current files is a data error upstream; keep the
    -- most recently landed row so the mart stays one row per sentra.
    select *
    from current_rows
    qualify row_number() over (
        partition by sentra_id order by landed_at desc, source_sha256 desc, source_row
    ) = 1
)

select * from final
