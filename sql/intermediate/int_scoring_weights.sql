-- The configured component weights (pipelines/config/scoring.yaml) as one row.
with weights as (
    select * from src_scoring_weights
),

final as (
    select
        max(weight) filter (where component = 'cluster_strength') as weight_cluster_strength,
        max(weight) filter (where component = 'growth_momentum') as weight_growth_momentum,
        max(weight) filter (where component = 'market_traction') as weight_market_traction,
        max(weight) filter (where component = 'digital_gap') as weight_digital_gap,
        max(weight) filter (where component = 'commodity_priority') as weight_commodity_priority
    from weights
)

select * from final
