-- materialised: view
-- Every version of an order line in the marketplace exports this build reads: the exports
-- ingested since the last build (in a full build, every export) and, with carried_export, the
-- exports the carried state holds. Only the columns the sales marts read. A view: the lines
-- are read where they are needed, straight from the clean Parquet, and a filter on
-- carried_export skips the other exports' files.
select
    order_line_id,
    marketplace,
    seller_account,
    order_id,
    status,
    order_date,
    quantity,
    gross_idr,
    net_idr,
    buyer_hash,
    source_sha256,
    source_name,
    source_row,
    landed_at,
    received_at,
    carried_export
from stg_marketplace__orders
