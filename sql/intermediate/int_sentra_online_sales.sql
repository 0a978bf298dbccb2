-- Marketplace sales per sentra over the market window (market_months before the reference
-- date), split into the earlier and the later half for the trend, and how many member IKM sold.
-- Empty until the marketplace feed's models land; then it reads them.
with sentra as (
    select sentra_id from int_sentra_current
),

final as (
    select
        sentra_id,
        cast(null as double) as net_sales_window_idr,
        cast(null as double) as net_sales_earlier_idr,
        cast(null as double) as net_sales_later_idr,
        cast(null as bigint) as members_selling
    from sentra
    where false
)

select * from final
