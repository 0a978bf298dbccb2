-- The current figure per province, year, quarter and measure: the latest release wins.
-- BPS revises figures in later releases (and a table may be pulled for several domains), so
-- the most recently landed release that lists a cell decides it, an empty cell included:
-- a figure BPS withdrew is withdrawn here too.
with cells as (
    select * from stg_bps__imk_growth
),

final as (
    select *
    from cells
    qualify row_number() over (
        partition by province_code, year, quarter, measure
        order by landed_at desc, received_at desc, source_sha256 desc
    ) = 1
)

select * from final
