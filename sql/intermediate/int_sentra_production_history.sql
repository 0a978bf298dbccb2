-- Each sentra's production value in its current registry and in its province's previous
-- reporting period (the latest version of that period), for production growth.
with winning_rows as (
    select sentra_id, period, nilai_produksi_idr
    from int_registry_sentra_versions
    where is_latest_version
),

current_rows as (
    select sentra_id, period, nilai_produksi_idr
    from int_sentra_current
),

previous_rows as (
    select
        current_rows.sentra_id,
        winning_rows.period,
        winning_rows.nilai_produksi_idr
    from current_rows
    inner join winning_rows
        on winning_rows.sentra_id = current_rows.sentra_id
        and winning_rows.period < current_rows.period
    qualify row_number() over (
        partition by current_rows.sentra_id order by winning_rows.period desc
    ) = 1
),

final as (
    select
        current_rows.sentra_id,
        previous_rows.period as previous_period,
        previous_rows.nilai_produksi_idr as previous_nilai_produksi_idr,
        current_rows.nilai_produksi_idr / nullif(previous_rows.nilai_produksi_idr, 0) - 1
            as production_growth
    from current_rows
    left join previous_rows using (sentra_id)
)

select * from final
