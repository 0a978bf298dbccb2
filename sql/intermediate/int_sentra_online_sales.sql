-- Marketplace sales per sentra over the market window (market_months before the reference
-- date), split into the earlier and the later half for the trend, and how many member IKM sold.
-- Only sentra with completed sales in the window have a row: no row is "no marketplace data",
-- which the score treats as a data gap, not as zero.
with window_bounds as (
    select
        cast(getvariable('as_of') as date) as window_end,
        cast(getvariable('as_of') - to_months(getvariable('market_months')) as date)
            as window_start,
        cast(getvariable('as_of') - to_months(getvariable('market_months') // 2) as date)
            as window_middle
),

completed as (
    select lines.sentra_id, lines.id_ikm, lines.net_idr, lines.order_date, bounds.window_middle
    from int_marketplace_order_lines as lines, window_bounds as bounds
    where lines.sentra_id is not null
        and lines.status = 'completed'
        and lines.order_date > bounds.window_start
        and lines.order_date <= bounds.window_end
),

recomputed as (
    select
        sentra_id,
        cast(sum(net_idr) as double) as net_sales_window_idr,
        cast(coalesce(sum(net_idr) filter (where order_date <= window_middle), 0) as double)
            as net_sales_earlier_idr,
        cast(coalesce(sum(net_idr) filter (where order_date > window_middle), 0) as double)
            as net_sales_later_idr,
        count(distinct id_ikm) as members_selling
    from completed
    group by sentra_id
),

final as (
    -- Sentra no new export or member-list change touched keep their carried figures (the
    -- window is fixed by the reference date, part of the models' version).
    select carried.*
    from marts_state.online_sales as carried
    anti join int_marketplace_affected_sentra using (sentra_id)
    union all
    select * from recomputed
)

select * from final
