-- Shops whose sales are recomputed: a line of theirs changed, or the member lists now assign
-- them differently (another IKM or sentra, or none) than when their sales were carried.
with changed_lines as (
    select marketplace, seller_account
    from int_marketplace_added_lines
    union
    select marketplace, seller_account
    from int_marketplace_line_changes
    where change = 'removed'
),

reassigned as (
    select marketplace, seller_account
    from int_marketplace_seller_accounts as assigned
    full join marts_state.seller_accounts as carried using (marketplace, seller_account)
    where assigned.id_ikm is distinct from carried.id_ikm
        or assigned.sentra_id is distinct from carried.sentra_id
),

final as (
    select * from changed_lines
    union
    select * from reassigned
)

select * from final
