-- The 38 Kemendagri provinces with their BPS codes and island groups (vendored reference).
with source as (
    select * from src_reference_provinces
),

final as (
    select
        cast(province_code as varchar) as province_code,
        cast(name as varchar) as province_name,
        cast(bps_code as varchar) as bps_province_code,
        cast(island_group as varchar) as island_group
    from source
)

select * from final
