-- BPS IMK y-on-y growth of each province against the national figure, for the latest year
-- BPS publishes a national yearly figure for (quarter null = the yearly figure).
with yearly as (
    select * from marts.fct_imk_growth
    where quarter is null and yoy_growth_pct is not null
),

national as (
    select year, yoy_growth_pct
    from yearly
    where region_level = 'nasional'
    order by year desc
    limit 1
)

select
    yearly.year,
    yearly.province_code,
    yearly.province_name,
    yearly.yoy_growth_pct,
    national.yoy_growth_pct as national_yoy_growth_pct,
    round(yearly.yoy_growth_pct - national.yoy_growth_pct, 2) as gap_pts,
    yearly.territory_note
from yearly
join national using (year)
where yearly.region_level = 'provinsi'
order by yearly.yoy_growth_pct desc, yearly.province_name
