-- Every value of one export that was written but could not be read, one row per cell, in file
-- order: the diagnosis behind a quarantine report. Only fields without personal data appear
-- here (the buyer's identifier and province never do).
with cells as (
    select source_row, 'status' as field, status_text as value, status is null as unreadable
    from parsed
    union all
    select source_row, 'ordered_at', ordered_at_text, ordered_at is null
    from parsed
    union all
    select source_row, 'quantity', quantity_text, quantity is null
    from parsed
    union all
    select source_row, 'unit_price', unit_price_text, unit_price_idr is null
    from parsed
    union all
    select source_row, 'line_amount', line_amount_text, line_amount_idr is null
    from parsed
),

final as (
    select source_row, field, value
    from cells
    where unreadable and value is not null
    order by source_row, field
)

select * from final
