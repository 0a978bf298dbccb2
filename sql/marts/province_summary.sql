-- One row per province: how many sentra it has, how many are eligible, dead (tidak aktif),
-- due for re-survey, ranked, planned per phase year, and the average score of eligible sentra.
with scores as (
    select * from sentra_revitalisation_score
),

provinces as (
    select province_code, region_name as province_name, island_group
    from dim_region
    where region_level = 'provinsi'
),

phase_counts as (
    select province_code, map_from_entries(list((phase_year, n) order by phase_year))
        as sentra_per_phase_year
    from (
        select province_code, phase_year, count(*) as n
        from scores
        where phase_year is not null
        group by all
    )
    group by province_code
),

counts as (
    select
        province_code,
        count(*) as sentra_total,
        count(*) filter (where eligible) as sentra_eligible,
        count(*) filter (where ineligible_reason = 'inactive') as sentra_dead,
        count(*) filter (where needs_resurvey) as sentra_needs_resurvey,
        count(*) filter (where ineligible_reason in ('below_min_units', 'below_dak_min_units'))
            as sentra_too_small,
        count(*) filter (where ineligible_reason = 'not_priority_commodity')
            as sentra_not_priority_commodity,
        count(rank_national) as sentra_ranked,
        round(avg(score), 2) as average_score,
        min(phase_year) as first_phase_year
    from scores
    group by province_code
),

final as (
    select
        provinces.province_code,
        provinces.province_name,
        provinces.island_group,
        coalesce(counts.sentra_total, 0) as sentra_total,
        coalesce(counts.sentra_eligible, 0) as sentra_eligible,
        coalesce(counts.sentra_dead, 0) as sentra_dead,
        coalesce(counts.sentra_needs_resurvey, 0) as sentra_needs_resurvey,
        coalesce(counts.sentra_too_small, 0) as sentra_too_small,
        coalesce(counts.sentra_not_priority_commodity, 0) as sentra_not_priority_commodity,
        coalesce(counts.sentra_ranked, 0) as sentra_ranked,
        counts.average_score,
        counts.first_phase_year,
        phase_counts.sentra_per_phase_year
    from provinces
    left join counts using (province_code)
    left join phase_counts using (province_code)
    order by provinces.province_code
)

select * from final
