-- Every sentra in the current registry of its province, with region names and member counts.
with sentra as (
    select * from int_sentra_current
),

members as (
    select * from int_sentra_members
),

regions as (
    select * from dim_region
),

final as (
    select
        sentra.sentra_id,
        sentra.id_sentra_source,
        sentra.nama_sentra,
        sentra.province_code,
        provinces.region_name as province_name,
        sentra.kabupaten_code,
        regencies.region_name as kabupaten_name,
        provinces.island_group,
        sentra.kecamatan,
        sentra.desa_kelurahan,
        sentra.komoditas,
        sentra.komoditas_group,
        sentra.kbli,
        sentra.jumlah_ikm,
        sentra.tenaga_kerja,
        sentra.nilai_produksi_idr,
        sentra.nilai_investasi_idr,
        sentra.bahan_baku_utama,
        sentra.status,
        sentra.tahun_berdiri,
        sentra.tanggal_pendataan,
        date_diff('day', sentra.tanggal_pendataan, getvariable('as_of')) / 365.25
            as years_since_survey,
        sentra.lintang,
        sentra.bujur,
        coalesce(members.member_count, 0) as member_ikm_listed,
        coalesce(members.members_online, 0) as member_ikm_online,
        sentra.period as registry_period,
        sentra.source_sha256 as registry_source_sha256,
        sentra.source_name as registry_source_name,
        sentra.source_row as registry_source_row
    from sentra
    left join members using (sentra_id)
    left join regions as provinces on provinces.region_code = sentra.province_code
    left join regions as regencies on regencies.region_code = sentra.kabupaten_code
    order by sentra.sentra_id
)

select * from final
