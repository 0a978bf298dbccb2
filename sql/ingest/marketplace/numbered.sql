-- Each converted line with its place in the export (source_row), taken from its place in the
-- conversion's own Parquet file, which keeps the export's order. Numbering while converting
-- would need row_number() over (), and DuckDB runs any pipeline holding such a window on one
-- thread; numbering afterwards keeps the conversion parallel. `first_row` is the export's first
-- data row: 2 under a CSV header, 1 in JSON lines.
with converted as (
    select * from read_parquet(getvariable('converted'), file_row_number = true)
),

final as (
    select
        * exclude (file_row_number)
        replace (file_row_number + getvariable('first_row') as source_row)
    from converted
)

select * from final
