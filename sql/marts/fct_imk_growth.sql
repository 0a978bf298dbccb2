-- Quarterly growth of micro and small manufacturing production (IMK) per province and nationally:
-- one row per province_code, year and quarter (quarter null = the yearly figure), y-on-y and
-- q-to-q growth side by side, each with the BPS release it came from. National figures are
-- their own rows: province_code '00', region_level 'nasional'. territory_note flags figures for
-- a province's territory before a split (Papua and Papua Barat before 2023), which do not
-- compare with later figures of the same province_code.
with latest as (
    select * from int_imk_growth_latest
),

provinces as (
    select * from stg_reference__provinces
),

periods as (
    select distinct province_code, year, quarter from latest
),

yoy as (
    select * from latest where measure = 'yoy'
),

qtq as (
    select * from latest where measure = 'qtq'
),

final as (
    select
        periods.province_code,
        coalesce(provinces.province_name, 'Indonesia') as province_name,
        coalesce(yoy.region_level, qtq.region_level) as region_level,
        coalesce(yoy.bps_province_code, qtq.bps_province_code) as bps_province_code,
        periods.year,
        periods.quarter,
        yoy.growth_pct as yoy_growth_pct,
        qtq.growth_pct as qtq_growth_pct,
        coalesce(yoy.territory_note, qtq.territory_note) as territory_note,
        yoy.bps_var_id as yoy_bps_var_id,
        yoy.bps_domain as yoy_bps_domain,
        yoy.source_sha256 as yoy_source_sha256,
        yoy.landed_at as yoy_landed_at,
        qtq.bps_var_id as qtq_bps_var_id,
        qtq.bps_domain as qtq_bps_domain,
        qtq.source_sha256 as qtq_source_sha256,
        qtq.landed_at as qtq_landed_at
    from periods
    left join provinces using (province_code)
    left join yoy
        on yoy.province_code = periods.province_code
        and yoy.year = periods.year
        and yoy.quarter is not distinct from periods.quarter
    left join qtq
        on qtq.province_code = periods.province_code
        and qtq.year = periods.year
        and qtq.quarter is not distinct from periods.quarter
    order by periods.province_code, periods.year, periods.quarter nulls last
)

select * from final
