-- Marketplace shops whose orders arrived but that no current member list of a current sentra
-- names: a shop not yet registered, a typo in a member list or a landing folder, or a member
-- of a sentra that left the registry. Their lines are counted here, never dropped silently;
-- adding the shop to the member list ('marketplace:seller_account') assigns them.
with lines as (
    select * from int_marketplace_order_lines
    where sentra_id is null
),

recomputed as (
    select
        marketplace,
        seller_account,
        count(distinct order_id) as orders,
        count(*) as order_lines,
        coalesce(sum(net_idr) filter (where status = 'completed'), 0) as net_idr,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(distinct source_sha256) as exports,
        arg_max(source_name, landed_at) as latest_export
    from lines
    group by marketplace, seller_account
),

final as (
    -- Shops no new export or member-list change touched keep their carried row.
    select * from (
        select carried.*
        from marts_state.unmatched_sellers as carried
        anti join int_marketplace_affected_shops using (marketplace, seller_account)
        union all
        select * from recomputed
    )
    order by order_lines desc, marketplace, seller_account
)

select * from final
