-- Sentra to survey again before they can be ranked: inactive, never surveyed, or surveyed
-- longer ago than the configured limit. Oldest survey first within each province.
with scores as (
    select * from sentra_revitalisation_score where needs_resurvey
),

sentra as (
    select * from dim_sentra
),

final as (
    select
        scores.sentra_id,
        scores.nama_sentra,
        scores.province_code,
        scores.province_name,
        scores.kabupaten_code,
        scores.kabupaten_name,
        sentra.kecamatan,
        sentra.desa_kelurahan,
        scores.komoditas,
        scores.ineligible_reason as resurvey_reason,
        sentra.status,
        sentra.tanggal_pendataan as last_surveyed_on,
        scores.years_since_survey,
        scores.jumlah_ikm,
        sentra.registry_source_name
    from scores
    inner join sentra using (sentra_id)
    order by scores.province_code, sentra.tanggal_pendataan nulls first, scores.sentra_id
)

select * from final
