-- Each province's IMK y-on-y growth minus the national figure, averaged over the latest
-- imk_growth_quarters quarters that have a national figure (BPS; national is province '00').
with quarterly as (
    select province_code, year, quarter, growth_pct as yoy_growth_pct
    from int_imk_growth_latest
    where measure = 'yoy' and quarter is not null and growth_pct is not null
),

national as (
    select year, quarter, yoy_growth_pct as national_yoy_pct
    from quarterly
    where province_code = '00'
),

latest_quarters as (
    select year, quarter
    from national
    order by year desc, quarter desc
    limit getvariable('imk_growth_quarters')
),

final as (
    select
        quarterly.province_code,
        round(avg(quarterly.yoy_growth_pct - national.national_yoy_pct), 4) as imk_growth_gap_pts,
        count(*) as quarters_used,
        max(quarterly.year * 10 + quarterly.quarter) as latest_year_quarter
    from quarterly
    inner join latest_quarters using (year, quarter)
    inner join national using (year, quarter)
    where quarterly.province_code <> '00'
    group by quarterly.province_code
)

select * from final
