-- Provinces with sentra: the province summary, and where to draw the province on the map (the
-- mean position of its sentra; the reference data carries no province outlines).
with positions as (
    select province_code, avg(lintang) as lintang, avg(bujur) as bujur
    from marts.dim_sentra
    where lintang is not null and bujur is not null
    group by province_code
)

select
    summary.province_code,
    summary.province_name,
    summary.island_group,
    summary.sentra_total,
    summary.sentra_eligible,
    summary.sentra_needs_resurvey,
    summary.sentra_too_small,
    summary.sentra_not_priority_commodity,
    summary.average_score,
    summary.first_phase_year,
    positions.lintang,
    positions.bujur
from marts.province_summary as summary
left join positions using (province_code)
where summary.sentra_total > 0
order by summary.sentra_eligible desc, summary.province_name
