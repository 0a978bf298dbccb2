-- What the exports ingested since the last build change in the order lines it carried forward
-- (int_marketplace_carried_lines: the latest version of every line). Exports overlap: a seller
-- exporting June twice, or the e-Smart feed resending a line, must not double the sales, and an
-- order returned after an earlier export must count as returned, so for each line the latest
-- export wins. This table holds the versions that lose: 'removed' rows the carried versions a
-- new one replaces, 'lost' rows the new versions that another one beats. Every other new
-- version wins (int_marketplace_added_lines), so a full build, which starts from an empty
-- state and adds every line, keeps only the few lines exported twice here, not all of them.
-- The CTEs over every new line are "not materialized": DuckDB would otherwise keep a copy of
-- each CTE read twice, millions of rows in a full build (4-5x slower under the memory limit).
-- The carried versions of the new lines are few, and none in a full build: kept once, so the
-- carried lines (~10 M nationally) are scanned once, not once per reader.
with arrived as not materialized (
    select * from int_marketplace_arrived_lines
),

known as materialized (
    select carried.*
    from int_marketplace_carried_lines as carried
    semi join arrived using (order_line_id)
),

contenders as not materialized (
    select *, false as is_carried from arrived
    union all by name
    select *, true as is_carried from known
),

-- Nearly every line is in one export only: it wins without a contest. Only the few lines
-- with several versions are ranked (a window over every line would sort all of them).
contested as (
    select order_line_id
    from contenders
    group by order_line_id
    having count(*) > 1
),

ranked as (
    select
        order_line_id,
        marketplace,
        seller_account,
        source_sha256,
        source_row,
        is_carried,
        row_number() over (
            partition by order_line_id
            order by landed_at desc, received_at desc, source_sha256 desc, source_row
        ) as rank
    from contenders
    semi join contested using (order_line_id)
),

final as (
    select
        * exclude (is_carried, rank),
        case when is_carried then 'removed' else 'lost' end as change
    from ranked
    where rank > 1
)

select * from final
