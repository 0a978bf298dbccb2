-- Which member IKM (and so which sentra) each marketplace shop belongs to, from the seller
-- accounts ('shopee:batik_sekar') of the current member lists of current sentra. Shop handles
-- are compared case-insensitively, as the marketplaces treat them.
with members as (
    select members.*
    from int_registry_members_current as members
    inner join int_sentra_current as sentra using (sentra_id)
),

accounts as (
    select
        lower(trim(split_part(account, ':', 1))) as marketplace,
        lower(trim(substr(account, strpos(account, ':') + 1))) as seller_account,
        id_ikm,
        sentra_id,
        landed_at
    from members, unnest(seller_accounts) as listed(account)
),

final as (
    -- A shop listed for two IKM is a registry error; the most recently landed list wins so
    -- every order line counts once.
    select marketplace, seller_account, id_ikm, sentra_id
    from accounts
    qualify row_number() over (
        partition by marketplace, seller_account order by landed_at desc, id_ikm
    ) = 1
)

select * from final
