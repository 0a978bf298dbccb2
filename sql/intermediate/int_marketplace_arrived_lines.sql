-- materialised: view
-- The order lines of the exports ingested since the last build (in a full build, of every
-- export), with only the columns the sales marts and the carried state read. A view: the
-- lines are read where they are needed, straight from the clean Parquet.
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
    received_at
from stg_marketplace__orders
