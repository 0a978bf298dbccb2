-- The top three reasons, in words, why each eligible sentra scores where it does: the
-- components that lift its score most above a neutral sentra (weight x (component - neutral)),
-- and the component that holds it back most.
with scored as (
    select * from int_sentra_scored where eligible
),

weights as (
    select * from int_scoring_weights
),

contributions as (
    select sentra_id, 'cluster_strength' as component,
        weights.weight_cluster_strength * (cluster_strength - getvariable('neutral_value'))
            as contribution,
        format('strong cluster: {} IKM units{}', jumlah_ikm,
            coalesce(format(', {} workers', tenaga_kerja), '')) as reason
    from scored cross join weights
    union all
    select sentra_id, 'growth_momentum',
        weights.weight_growth_momentum * (growth_momentum - getvariable('neutral_value')),
        case
            when imk_growth_gap_pts > 0 and coalesce(production_growth, 0) <= 0.1
                then format('province IMK growth {:.1f} points above national',
                    imk_growth_gap_pts)
            when production_growth > 0.1 and coalesce(imk_growth_gap_pts, 0) <= 0
                then format('production up {:.0f}% since the previous registry',
                    100 * production_growth)
            else format('province IMK growth {:.1f} points above national; production up '
                || '{:.0f}% since the previous registry',
                coalesce(imk_growth_gap_pts, 0), 100 * coalesce(production_growth, 0))
        end
    from scored cross join weights
    union all
    select sentra_id, 'market_traction',
        weights.weight_market_traction * (market_traction - getvariable('neutral_value')),
        case when sales_trend > 1.2
            then format('strong online sales growth (x{:.1f} on the previous half-year)',
                sales_trend)
            else 'high online sales per IKM unit' end
    from scored cross join weights
    union all
    select sentra_id, 'digital_gap',
        weights.weight_digital_gap * (digital_gap - getvariable('neutral_value')),
        format('{:.0f}% of member IKM not selling online yet', 100 * offline_member_share)
    from scored cross join weights
    union all
    select sentra_id, 'commodity_priority',
        weights.weight_commodity_priority * (commodity_priority - getvariable('neutral_value')),
        format('{} is a first-phase commodity', komoditas_group)
    from scored cross join weights
),

strengths as (
    select
        sentra_id,
        string_agg(reason, '; ' order by contribution desc, component) as top_drivers
    from (
        select *
        from contributions
        where contribution > 0
        qualify row_number() over (
            partition by sentra_id order by contribution desc, component) <= 3
    )
    group by sentra_id
),

weaknesses as (
    select sentra_id, component as weakest_component
    from contributions
    where contribution < 0
    qualify row_number() over (partition by sentra_id order by contribution, component) = 1
),

final as (
    select
        scored.sentra_id,
        coalesce(strengths.top_drivers, 'no component above a typical sentra') as top_drivers,
        weaknesses.weakest_component
    from scored
    left join strengths using (sentra_id)
    left join weaknesses using (sentra_id)
)

select * from final
