-- The order lines the sales marts are recomputed from, each once in its latest version, with
-- the IKM and sentra of its shop (NULL for a shop no current member list names): every line
-- of an affected shop and of every shop of an affected sentra (in a full build, every line).
with shops as (
    select marketplace, seller_account
    from int_marketplace_affected_shops
    union
    select marketplace, seller_account
    from int_marketplace_seller_accounts
    semi join int_marketplace_affected_sentra using (sentra_id)
),

current_lines as (
    -- The carried lines of those shops first (few, after a new export), then without the
    -- versions this build replaces, then the versions that now win (all of those shops': a
    -- shop with a changed line is affected, and every line names its shop).
    select carried.*
    from int_marketplace_carried_lines as carried
    semi join shops using (marketplace, seller_account)
    anti join (
        select order_line_id from int_marketplace_line_changes where change = 'removed'
    ) using (order_line_id)
    union all by name
    select * from int_marketplace_added_lines
),

final as (
    -- Only the columns the sales marts read: this table holds every line in a full build, and
    -- each column left out (the line's id, its row and receipt) is ~10 M values less to write
    -- and spill under the memory limit.
    select
        current_lines.marketplace,
        current_lines.seller_account,
        current_lines.order_id,
        current_lines.status,
        current_lines.order_date,
        current_lines.quantity,
        current_lines.gross_idr,
        current_lines.net_idr,
        current_lines.buyer_hash,
        current_lines.source_sha256,
        current_lines.source_name,
        current_lines.landed_at,
        date_trunc('month', current_lines.order_date) as order_month,
        accounts.id_ikm,
        accounts.sentra_id
    from current_lines
    left join int_marketplace_seller_accounts as accounts
        on accounts.marketplace = current_lines.marketplace
        and accounts.seller_account = current_lines.seller_account
)

select * from final
