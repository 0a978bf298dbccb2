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
    -- versions this build replaces, then the versions that now win.
    select carried.*
    from marts_state.order_lines as carried
    semi join shops using (marketplace, seller_account)
    anti join int_marketplace_line_changes as changes using (order_line_id)
    union all
    select * exclude (change)
    from int_marketplace_line_changes
    where change = 'added'
),

final as (
    select
        current_lines.*,
        date_trunc('month', current_lines.order_date) as order_month,
        accounts.id_ikm,
        accounts.sentra_id
    from current_lines
    semi join shops using (marketplace, seller_account)
    left join int_marketplace_seller_accounts as accounts
        on accounts.marketplace = current_lines.marketplace
        and accounts.seller_account = current_lines.seller_account
)

select * from final
