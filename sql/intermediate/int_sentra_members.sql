-- Member IKM per sentra: for each sentra, the most recently landed member list that names it.
with member_lists as (
    select
        *,
        dense_rank() over (
            partition by sentra_id order by landed_at desc, received_at desc, source_sha256 desc
        ) as list_rank
    from stg_registry__members
),

final as (
    select
        sentra_id,
        count(distinct id_ikm) as member_count,
        count(distinct id_ikm) filter (where len(seller_accounts) > 0) as members_online
    from member_lists
    where list_rank = 1
    group by sentra_id
)

select * from final
