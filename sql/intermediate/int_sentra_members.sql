-- Member IKM per sentra, from the current member lists (int_registry_members_current).
with members as (
    select * from int_registry_members_current
),

final as (
    select
        sentra_id,
        count(distinct id_ikm) as member_count,
        count(distinct id_ikm) filter (where len(seller_accounts) > 0) as members_online
    from members
    group by sentra_id
)

select * from final
