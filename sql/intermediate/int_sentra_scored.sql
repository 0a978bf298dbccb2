-- The revitalisation score of every current sentra: gates, the five components (0-100), the
-- weighted score, the data gaps and the top drivers in words. Formulas: docs/scoring.md.
-- Percentile ranks are taken over eligible sentra only (the population being ranked); a
-- missing input takes the configured neutral value and is listed in data_gaps.
with sentra as (
    select
        current.*,
        provinces.island_group,
        coalesce(members.member_count, 0) as members_listed,
        coalesce(members.members_online, 0) as members_with_shop,
        date_diff('day', current.tanggal_pendataan, getvariable('as_of')) / 365.25
            as years_since_survey
    from int_sentra_current as current
    left join stg_reference__provinces as provinces using (province_code)
    left join int_sentra_members as members using (sentra_id)
),

gated as (
    select
        sentra.*,
        coalesce(island.min_units, getvariable('min_units')) as min_units_required,
        commodities.priority_tier,
        commodities.priority_value,
        case
            when sentra.jumlah_ikm < getvariable('min_units') then 'below_min_units'
            when sentra.jumlah_ikm < island.min_units then 'below_dak_min_units'
            when sentra.status = 'tidak_aktif' then 'inactive'
            when sentra.tanggal_pendataan is null then 'never_surveyed'
            when sentra.years_since_survey > getvariable('resurvey_after_years')
                then 'survey_stale'
            when commodities.komoditas_group is null then 'not_priority_commodity'
        end as ineligible_reason
    from sentra
    left join src_scoring_min_units as island using (island_group)
    left join src_scoring_commodities as commodities using (komoditas_group)
),

inputs as (
    select
        gated.*,
        ineligible_reason is null as eligible,
        nilai_produksi_idr / nullif(jumlah_ikm, 0) as production_per_unit_idr,
        momentum.imk_growth_gap_pts,
        history.production_growth,
        sales.net_sales_window_idr,
        sales.net_sales_window_idr / nullif(jumlah_ikm, 0) as net_sales_per_unit_idr,
        sales.net_sales_later_idr / nullif(sales.net_sales_earlier_idr, 0) as sales_trend,
        sales.members_selling,
        -- Members that sold in the window; before any marketplace data exists for the sentra,
        -- members that at least have a registered shop.
        case when members_listed > 0
            then 1 - least(coalesce(sales.members_selling, members_with_shop), members_listed)
                / members_listed
        end as offline_member_share
    from gated
    left join int_province_imk_momentum as momentum using (province_code)
    left join int_sentra_production_history as history using (sentra_id)
    left join int_sentra_online_sales as sales using (sentra_id)
),

ranked as (
    -- Each input ranked among eligible sentra that have it (sql/macros/); others get null.
    select
        *,
        percent_rank_among(eligible, jumlah_ikm) as units_rank,
        percent_rank_among(eligible, tenaga_kerja) as workers_rank,
        percent_rank_among(eligible, production_per_unit_idr) as production_rank,
        percent_rank_among(eligible, imk_growth_gap_pts) as imk_gap_rank,
        percent_rank_among(eligible, production_growth) as production_growth_rank,
        percent_rank_among(eligible, net_sales_per_unit_idr) as sales_level_rank,
        percent_rank_among(eligible, sales_trend) as sales_trend_rank
    from inputs
),

components as (
    select
        *,
        getvariable('neutral_value') / 100 as neutral,
        round(100 * (
            units_rank
            + coalesce(workers_rank, getvariable('neutral_value') / 100)
            + coalesce(production_rank, getvariable('neutral_value') / 100)
        ) / 3, 4) as cluster_strength,
        round(100 * (
            coalesce(imk_gap_rank, getvariable('neutral_value') / 100)
            + coalesce(production_growth_rank, getvariable('neutral_value') / 100)
        ) / 2, 4) as growth_momentum,
        round(100 * (
            getvariable('market_level_share')
                * coalesce(sales_level_rank, getvariable('neutral_value') / 100)
            + (1 - getvariable('market_level_share'))
                * coalesce(sales_trend_rank, getvariable('neutral_value') / 100)
        ), 4) as market_traction,
        round(coalesce(100 * offline_member_share, getvariable('neutral_value')), 4)
            as digital_gap,
        round(priority_value, 4) as commodity_priority
    from ranked
    where eligible
),

weights as (
    select * from int_scoring_weights
),

scored as (
    select
        components.*,
        round(
            weights.weight_cluster_strength * components.cluster_strength
            + weights.weight_growth_momentum * components.growth_momentum
            + weights.weight_market_traction * components.market_traction
            + weights.weight_digital_gap * components.digital_gap
            + weights.weight_commodity_priority * components.commodity_priority,
            2
        ) as score,
        list_filter([
            case when imk_growth_gap_pts is null then 'no_bps_growth' end,
            case when production_growth is null then 'no_production_history' end,
            case when net_sales_window_idr is null then 'no_marketplace_sales' end,
            case when sales_trend is null and net_sales_window_idr is not null
                then 'no_sales_trend' end,
            case when offline_member_share is null then 'no_member_list' end,
            case when tenaga_kerja is null then 'no_workers_figure' end,
            case when production_per_unit_idr is null then 'no_production_value' end
        ], gap -> gap is not null) as data_gaps
    from components
    cross join weights
),

final as (
    select
        inputs.sentra_id,
        inputs.province_code,
        inputs.island_group,
        inputs.komoditas_group,
        inputs.eligible,
        inputs.ineligible_reason,
        -- An eligible sentra has no reason, and `null in (...)` is null: say false, not unknown.
        coalesce(
            inputs.ineligible_reason in ('inactive', 'never_surveyed', 'survey_stale'), false
        ) as needs_resurvey,
        inputs.min_units_required,
        inputs.priority_tier,
        scored.cluster_strength,
        scored.growth_momentum,
        scored.market_traction,
        scored.digital_gap,
        scored.commodity_priority,
        scored.score,
        coalesce(scored.data_gaps, []) as data_gaps,
        inputs.jumlah_ikm,
        inputs.tenaga_kerja,
        inputs.years_since_survey,
        inputs.production_per_unit_idr,
        inputs.imk_growth_gap_pts,
        inputs.production_growth,
        inputs.net_sales_window_idr,
        inputs.sales_trend,
        inputs.members_listed,
        inputs.members_with_shop,
        inputs.members_selling,
        inputs.offline_member_share
    from inputs
    left join scored using (sentra_id)
    order by inputs.sentra_id
)

select * from final
