-- Which sentra to revitalise next, in which year, and why: one row per current sentra.
-- Eligible sentra carry the five components, the weighted score, ranks, the planned
-- phase_year and the top drivers in words; the others carry the reason they are not ranked.
-- Formulas and configuration: docs/scoring.md, pipelines/config/scoring.yaml.
with scored as (
    select * from int_sentra_scored
),

sentra as (
    select * from dim_sentra
),

final as (
    select
        scored.sentra_id,
        sentra.nama_sentra,
        scored.province_code,
        sentra.province_name,
        sentra.kabupaten_code,
        sentra.kabupaten_name,
        scored.island_group,
        sentra.komoditas,
        scored.komoditas_group,
        scored.eligible,
        scored.ineligible_reason,
        scored.needs_resurvey,
        scored.score,
        case when scored.eligible then row_number() over (
            partition by scored.eligible order by scored.score desc, scored.sentra_id) end
            as rank_national,
        case when scored.eligible then row_number() over (
            partition by scored.eligible, scored.province_code
            order by scored.score desc, scored.sentra_id) end as rank_province,
        phases.phase_year,
        scored.priority_tier,
        drivers.top_drivers,
        drivers.weakest_component,
        scored.data_gaps,
        scored.cluster_strength,
        scored.growth_momentum,
        scored.market_traction,
        scored.digital_gap,
        scored.commodity_priority,
        scored.jumlah_ikm,
        scored.min_units_required,
        scored.tenaga_kerja,
        round(scored.production_per_unit_idr, 2) as production_per_unit_idr,
        scored.imk_growth_gap_pts,
        round(scored.production_growth, 4) as production_growth,
        scored.net_sales_window_idr,
        round(scored.sales_trend, 4) as sales_trend,
        scored.members_listed,
        scored.members_with_shop,
        scored.members_selling,
        round(scored.offline_member_share, 4) as offline_member_share,
        round(scored.years_since_survey, 2) as years_since_survey
    from scored
    inner join sentra using (sentra_id)
    left join int_sentra_phase_plan as phases using (sentra_id)
    left join int_sentra_drivers as drivers using (sentra_id)
    order by rank_national nulls last, scored.sentra_id
)

select * from final
