-- The Kemendagri kabupaten/kota (vendored reference).
with source as (
    select * from src_reference_regencies
),

final as (
    select
        cast(code as varchar) as kabupaten_code,
        cast(name as varchar) as kabupaten_name,
        cast(province_code as varchar) as province_code,
        cast(kind as varchar) as kabupaten_kind
    from source
)

select * from final
