-- First revitalisation score (docs/scoring.md). Gates: at least min_units IKM (PP 29/2018),
-- aktif, surveyed within resurvey_after_years. Score 0-100 over eligible sentra only:
-- 40% units, 30% workers, 30% production value per unit, each as a national percentile rank;
-- a missing input counts as the median (0.5), never as zero. Ties break on sentra_id.
with sentra as (
    select * from dim_sentra
),

gated as (
    select
        *,
        case
            when jumlah_ikm < getvariable('min_units') then 'below_min_units'
            when status = 'tidak_aktif' then 'inactive'
            when tanggal_pendataan is null then 'never_surveyed'
            when years_since_survey > getvariable('resurvey_after_years') then 'survey_stale'
        end as ineligible_reason,
        nilai_produksi_idr / nullif(jumlah_ikm, 0) as nilai_produksi_per_unit
    from sentra
),

components as (
    select
        *,
        case when ineligible_reason is null then percent_rank() over (
            partition by ineligible_reason is null order by jumlah_ikm) end as units_pct,
        case when ineligible_reason is null then percent_rank() over (
            partition by ineligible_reason is null order by tenaga_kerja) end as workers_pct,
        case when ineligible_reason is null then percent_rank() over (
            partition by ineligible_reason is null order by nilai_produksi_per_unit) end
            as production_pct
    from gated
),

scored as (
    select
        *,
        case when ineligible_reason is null then round(100 * (
            0.4 * units_pct
            + 0.3 * case when tenaga_kerja is null then 0.5 else workers_pct end
            + 0.3 * case when nilai_produksi_per_unit is null then 0.5 else production_pct end
        ), 2) end as score
    from components
),

final as (
    select
        sentra_id,
        nama_sentra,
        province_code,
        province_name,
        kabupaten_code,
        kabupaten_name,
        komoditas,
        jumlah_ikm,
        tenaga_kerja,
        nilai_produksi_per_unit,
        score,
        case when score is not null then row_number() over (
            partition by score is null order by score desc, sentra_id) end as rank_national,
        case when score is not null then row_number() over (
            partition by province_code, score is null order by score desc, sentra_id) end
            as rank_province,
        ineligible_reason is null as eligible,
        ineligible_reason,
        ineligible_reason in ('inactive', 'never_surveyed', 'survey_stale') as needs_resurvey,
        round(units_pct * 100, 2) as units_component,
        round(workers_pct * 100, 2) as workers_component,
        round(production_pct * 100, 2) as production_component
    from scored
    order by rank_national nulls last, sentra_id
)

select * from final
