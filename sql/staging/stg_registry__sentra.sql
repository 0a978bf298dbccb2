-- Validated sentra rows of every ingested registry file (all versions), renamed and cast.
with source as (
    select * from src_registry_sentra
),

final as (
    select
        cast(sentra_id as varchar) as sentra_id,
        cast(id_sentra_source as varchar) as id_sentra_source,
        cast(nama_sentra as varchar) as nama_sentra,
        cast(province_code as varchar) as province_code,
        cast(kabupaten_code as varchar) as kabupaten_code,
        cast(kecamatan as varchar) as kecamatan,
        cast(desa_kelurahan as varchar) as desa_kelurahan,
        cast(komoditas as varchar) as komoditas,
        cast(komoditas_group as varchar) as komoditas_group,
        cast(kbli as varchar) as kbli,
        cast(jumlah_ikm as integer) as jumlah_ikm,
        cast(tenaga_kerja as integer) as tenaga_kerja,
        cast(nilai_produksi as double) as nilai_produksi_idr,
        cast(nilai_investasi as double) as nilai_investasi_idr,
        cast(bahan_baku_utama as varchar) as bahan_baku_utama,
        cast(status as varchar) as status,
        cast(tahun_berdiri as integer) as tahun_berdiri,
        cast(tanggal_pendataan as date) as tanggal_pendataan,
        cast(lintang as double) as lintang,
        cast(bujur as double) as bujur,
        cast(periode as varchar) as period,
        cast(source_sha256 as varchar) as source_sha256,
        cast(source_name as varchar) as source_name,
        cast(source_row as integer) as source_row,
        cast(landed_at as timestamptz) as landed_at,
        cast(received_at as timestamptz) as received_at
    from source
)

select * from final
