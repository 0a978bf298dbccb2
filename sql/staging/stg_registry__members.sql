-- Validated member-IKM rows of every ingested registry file (all versions), renamed and cast.
with source as (
    select * from src_registry_members
),

final as (
    select
        cast(id_ikm as varchar) as id_ikm,
        cast(sentra_id as varchar) as sentra_id,
        cast(nama_usaha as varchar) as nama_usaha,
        cast(seller_accounts as varchar[]) as seller_accounts,
        cast(source_sha256 as varchar) as source_sha256,
        cast(landed_at as timestamptz) as landed_at,
        cast(received_at as timestamptz) as received_at
    from source
)

select * from final
