-- Every marketplace order line once, as its latest export shows it, with the IKM and sentra of
-- its shop (NULL for a shop no current member list names). Exports overlap: a seller exporting
-- June twice, or the e-Smart feed resending a line, must not double the sales, and an order
-- returned after an earlier export must count as returned.
with latest as (
    select *
    from stg_marketplace__orders
    qualify row_number() over (
        partition by order_line_id
        order by landed_at desc, received_at desc, source_sha256 desc, source_row
    ) = 1
),

final as (
    select
        latest.*,
        date_trunc('month', latest.order_date) as order_month,
        accounts.id_ikm,
        accounts.sentra_id
    from latest
    left join int_marketplace_seller_accounts as accounts
        on accounts.marketplace = latest.marketplace
        and accounts.seller_account = latest.seller_account
)

select * from final
