-- Validated order lines of every ingested marketplace export (all exports, so an order line
-- exported twice appears twice), renamed and cast. Buyers are already a salted hash.
-- carried_export: the export is one an earlier build took in (docs/marts.md, "Incremental
-- builds"); its lines are read only where the carried ones are needed.
with source as (
    select * from src_marketplace_orders
),

final as (
    select
        cast(marketplace as varchar) as marketplace,
        cast(seller_account as varchar) as seller_account,
        cast(layout as varchar) as export_layout,
        cast(order_id as varchar) as order_id,
        cast(order_line_id as varchar) as order_line_id,
        cast(status as varchar) as status,
        cast(ordered_at as timestamptz) as ordered_at,
        cast(order_date as date) as order_date,
        cast(sku as varchar) as sku,
        cast(product_name as varchar) as product_name,
        cast(quantity as integer) as quantity,
        cast(unit_price_idr as bigint) as unit_price_idr,
        cast(gross_idr as bigint) as gross_idr,
        cast(net_idr as bigint) as net_idr,
        cast(buyer_hash as varchar) as buyer_hash,
        cast(buyer_province_code as varchar) as buyer_province_code,
        cast(source_sha256 as varchar) as source_sha256,
        cast(source_name as varchar) as source_name,
        cast(source_row as bigint) as source_row,
        cast(landed_at as timestamptz) as landed_at,
        cast(received_at as timestamptz) as received_at,
        carried_export
    from source
)

select * from final
