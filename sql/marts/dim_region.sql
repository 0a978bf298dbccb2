-- Provinces and kabupaten/kota with Kemendagri and BPS codes: one row per region.
with provinces as (
    select
        province_code as region_code,
        'provinsi' as region_level,
        province_name as region_name,
        province_code,
        province_name,
        bps_province_code,
        island_group
    from stg_reference__provinces
),

regencies as (
    select
        regencies.kabupaten_code as region_code,
        regencies.kabupaten_kind as region_level,
        regencies.kabupaten_name as region_name,
        regencies.province_code,
        provinces.province_name,
        provinces.bps_province_code,
        provinces.island_group
    from stg_reference__regencies as regencies
    inner join stg_reference__provinces as provinces using (province_code)
),

final as (
    select * from provinces
    union all
    select * from regencies
    order by region_code
)

select * from final
