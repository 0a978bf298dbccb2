-- Marketplace sales of the affected sentra per calendar month (Asia/Jakarta) and marketplace,
-- recomputed from their order lines; fct_marketplace_sales_monthly carries the other sentra.
-- Gross counts every line ordered at its list price; net counts what buyers paid for completed
-- lines (cancelled and returned lines add nothing).
with lines as (
    select * from int_marketplace_order_lines
    where sentra_id is not null
),

final as (
    select
        sentra_id,
        order_month,
        marketplace,
        count(distinct order_id) as orders,
        count(distinct order_id) filter (where status = 'completed') as completed_orders,
        count(*) as order_lines,
        count(*) filter (where status = 'cancelled') as cancelled_lines,
        count(*) filter (where status = 'returned') as returned_lines,
        coalesce(sum(quantity) filter (where status = 'completed'), 0) as units,
        sum(gross_idr) as gross_idr,
        coalesce(sum(net_idr) filter (where status = 'completed'), 0) as net_idr,
        count(distinct buyer_hash) filter (where status = 'completed') as buyers,
        count(distinct id_ikm) filter (where status = 'completed') as ikm_selling,
        count(distinct id_ikm) as ikm_with_orders
    from lines
    group by sentra_id, order_month, marketplace
)

select * from final
