-- The current registry row of every sentra: from its province's current submission only.
with current_rows as (
    select * exclude (is_latest_version, is_current)
    from int_registry_sentra_versions
    where is_current
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
