-- Decoded cells of every ingested BPS IMK growth release (all releases), renamed and cast.
-- province_code is Kemendagri ('00' for the national figure, region_level 'nasional').
with source as (
    select * from src_bps_imk_growth
),

final as (
    select
        cast(province_code as varchar) as province_code,
        cast(region_level as varchar) as region_level,
        cast(bps_province_code as varchar) as bps_province_code,
        cast(bps_region_id as varchar) as bps_region_id,
        cast(region_label as varchar) as bps_region_label,
        cast(territory_note as varchar) as territory_note,
        cast(year as integer) as year,
        cast(quarter as integer) as quarter,
        cast(period_label as varchar) as period_label,
        cast(measure as varchar) as measure,
        cast(growth_pct as double) as growth_pct,
        cast(bps_var_id as integer) as bps_var_id,
        cast(bps_domain as varchar) as bps_domain,
        cast(source_sheet as varchar) as datacontent_cell,
        cast(source_sha256 as varchar) as source_sha256,
        cast(source_name as varchar) as source_name,
        cast(landed_at as timestamptz) as landed_at,
        cast(received_at as timestamptz) as received_at
    from source
)

select * from final
