-- materialised: view
-- The versions of order lines this build adds: every line of the new exports except the
-- versions another one beats (int_marketplace_line_changes, change 'lost'). A view, not a
-- table: in a full build it is every order line, which the clean Parquet already holds, and
-- its readers (the affected shops, the order lines, the state written) each scan it once.
-- A version is its line in its export and row (a line appears once per export).
with lost as (
    select order_line_id, source_sha256, source_row
    from int_marketplace_line_changes
    where change = 'lost'
),

final as (
    select arrived.*
    from int_marketplace_arrived_lines as arrived
    anti join lost using (order_line_id, source_sha256, source_row)
)

select * from final
