-- Sentra whose sales marts are recomputed: every sentra an affected shop belongs to now or
-- belonged to when its sales were carried. The sales of other sentra are carried unchanged.
with assigned as (
    select sentra_id
    from int_marketplace_seller_accounts
    semi join int_marketplace_affected_shops using (marketplace, seller_account)
),

carried as (
    select sentra_id
    from marts_state.seller_accounts
    semi join int_marketplace_affected_shops using (marketplace, seller_account)
),

final as (
    select sentra_id from assigned
    union
    select sentra_id from carried
)

select * from final
