-- Marketplace sales per sentra, calendar month (Asia/Jakarta) and marketplace, from the order
-- lines of shops the registry's member lists name. Gross counts every line ordered at its list
-- price; net counts what buyers paid for completed lines (cancelled and returned lines add
-- nothing). Lines of unknown shops are in marketplace_unmatched_sellers, never dropped.
-- The months of sentra the new exports touch are recomputed (int_marketplace_sales_monthly);
-- the others are carried from the last build (docs/marts.md, "Incremental builds").
with monthly as (
    -- Sentra no new export or member-list change touched keep their carried months.
    select carried.*
    from marts_state.sales_monthly as carried
    anti join int_marketplace_affected_sentra using (sentra_id)
    union all
    select * from int_marketplace_sales_monthly
),

sentra as (
    select sentra_id, nama_sentra, province_code, komoditas from dim_sentra
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
