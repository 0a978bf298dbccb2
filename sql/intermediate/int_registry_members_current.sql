-- Member IKM as the registry lists them now: for each sentra, the rows of the most recently
-- landed member list that names it.
with member_lists as (
    select
        *,
        dense_rank() over (
            partition by sentra_id order by landed_at desc, received_at desc, source_sha256 desc
        ) as list_rank
    from stg_registry__members
),

final as (
    select * exclude (list_rank)
    from member_lists
    where list_rank = 1
)

select * from final
