-- Marketplace sales per sentra, calendar month (Asia/Jakarta) and marketplace, from the order
-- lines of shops the registry's member lists name. Gross counts every line ordered at its list
-- price; net counts what buyers paid for completed lines (cancelled and returned lines add
-- nothing). Lines of unknown shops are in marketplace_unmatched_sellers, never dropped.
with lines as (
    select * from int_marketplace_order_lines
    where sentra_id is not null
),

sentra as (
    select sentra_id, nama_sentra, province_code, komoditas from dim_sentra
),

monthly as (
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
),

final as (
    select
        monthly.sentra_id,
        sentra.nama_sentra,
        sentra.province_code,
        sentra.komoditas,
        cast(monthly.order_month as date) as month,
        monthly.marketplace,
        monthly.orders,
        monthly.completed_orders,
        monthly.order_lines,
        monthly.cancelled_lines,
        monthly.returned_lines,
        monthly.units,
        monthly.gross_idr,
        monthly.net_idr,
        monthly.buyers,
        monthly.ikm_selling,
        monthly.ikm_with_orders
    from monthly
    left join sentra using (sentra_id)
    order by monthly.sentra_id, month, monthly.marketplace
)

select * from final
