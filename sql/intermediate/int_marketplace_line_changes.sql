-- What the exports ingested since the last build change in the order lines it carried forward
-- (marts_state.order_lines: the latest version of every line). Exports overlap: a seller
-- exporting June twice, or the e-Smart feed resending a line, must not double the sales, and an
-- order returned after an earlier export must count as returned, so for each line the latest
-- export wins. 'added' rows are the line versions that win now, 'removed' rows the carried
-- versions they replace. A full build starts from an empty state: every line is added.
-- The CTEs over every line are "not materialized": DuckDB would otherwise keep a copy of each
-- CTE read twice, millions of rows in a full build (4-5x slower under the memory limit).
with arrived as not materialized (
    select
        order_line_id,
        marketplace,
        seller_account,
        order_id,
        status,
        order_date,
        quantity,
        gross_idr,
        net_idr,
        buyer_hash,
        source_sha256,
        source_name,
        source_row,
        landed_at,
        received_at
    from stg_marketplace__orders
),

known as not materialized (
    select carried.*
    from marts_state.order_lines as carried
    semi join arrived using (order_line_id)
),

contenders as not materialized (
    select *, false as is_carried from arrived
    union all
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

uncontested as not materialized (
    select *
    from contenders
    anti join contested using (order_line_id)
),

contest_winners as (
    select *
    from contenders
    semi join contested using (order_line_id)
    qualify row_number() over (
        partition by order_line_id
        order by landed_at desc, received_at desc, source_sha256 desc, source_row
    ) = 1
),

latest as not materialized (
    select * from uncontested
    union all
    select * from contest_winners
),

added as not materialized (
    select * exclude (is_carried) from latest where not is_carried
),

final as (
    select *, 'added' as change from added
    union all
    select known.*, 'removed' as change
    from known
    semi join (select order_line_id from contest_winners where not is_carried) using (order_line_id)
)

select * from final
