-- The published order lines of one export: the columns of the marketplace_orders dataset and
-- nothing else. The buyer is replaced by a salted hash (distinct buyers can be counted, nobody
-- can be looked up); the buyer's province becomes a Kemendagri code (buyer_province_code() in
-- macros.sql). The status as written is kept (a closed vocabulary, no personal data) so a
-- report can show an unknown one.
with shops as (
    select
        *,
        -- Seller-centre exports belong to the shop whose folder they land in; the e-Smart feed
        -- names marketplace and shop on every line.
        coalesce(getvariable('marketplace'), lower(marketplace_text)) as marketplace,
        lower(coalesce(getvariable('seller_account'), seller_account_text)) as seller_account
    from parsed
),

final as (
    select
        cast(marketplace as varchar) as marketplace,
        cast(seller_account as varchar) as seller_account,
        cast(getvariable('layout') as varchar) as layout,
        cast(order_id as varchar) as order_id,
        -- Unique across marketplaces: an order's lines differ by line id, SKU or product.
        cast(
            marketplace || ':' || order_id || ':'
            || coalesce(line_id, sku, product_name || coalesce(' / ' || variation, ''))
            as varchar
        ) as order_line_id,
        cast(status as varchar) as status,
        cast(status_text as varchar) as status_source,
        ordered_at,
        cast(ordered_at as date) as order_date,
        cast(sku as varchar) as sku,
        cast(product_name as varchar) as product_name,
        cast(variation as varchar) as variation,
        quantity,
        unit_price_idr,
        unit_price_idr * quantity as gross_idr,
        -- The amount paid for the line after discounts; its list value when the export has no
        -- such column. Written but unreadable stays NULL, so validation rejects the line.
        case
            when line_amount_text is null then unit_price_idr * quantity
            else line_amount_idr
        end as net_idr,
        -- 64 bits of a salted SHA-256: collisions are negligible at national scale and the
        -- column stays small. The buyer as written goes no further than this expression.
        case when buyer_key is not null then substr(
            sha256(getvariable('pii_salt') || '|' || marketplace || '|' || lower(buyer_key)), 1, 16
        ) end as buyer_hash,
        cast(buyer_province_code(province_text) as varchar) as buyer_province_code,
        cast(null as varchar) as source_sheet,
        cast(source_row as bigint) as source_row,
        cast(getvariable('source_sha256') as varchar) as source_sha256,
        cast(getvariable('source_name') as varchar) as source_name,
        cast(getvariable('landed_at') as timestamptz) as landed_at,
        cast(getvariable('received_at') as timestamptz) as received_at
    from shops
)

select * from final
