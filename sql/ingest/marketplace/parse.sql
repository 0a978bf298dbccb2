-- The order lines of one export typed, beside the text they were read from (`lines`, built
-- from the layout in pipelines/config/marketplace_layouts.yaml): the status in the vocabulary
-- of pipelines/reference/marketplace_statuses.csv, amounts as whole rupiah, the quantity as a
-- count, the order time as an instant (local times are Asia/Jakarta, the connection's time
-- zone). Nothing is decided here: order_lines.sql keeps what is published and
-- unreadable_cells.sql reports what could not be read. No joins here or in order_lines.sql: a
-- hash join reorders lines, and numbered.sql numbers them by the order they come out in.
with final as (
    select
        *,
        -- A return or cancellation recorded beside the order status wins over it ("Selesai",
        -- then "Pengembalian Dana/Barang"); an unknown note there changes nothing.
        coalesce(
            nullif(order_status(return_status_text), 'completed'), order_status(status_text)
        ) as status,
        coalesce(
            cast(try_strptime(ordered_at_text, getvariable('timestamp_formats')) as timestamptz),
            -- ISO 8601, in any layout: with Z or an offset it is an instant, without one it is
            -- Jakarta time. Never a day-month guess: slashes are not ISO.
            try_cast(ordered_at_text as timestamptz)
        ) as ordered_at,
        -- Up to 999,999 items on one line (macros.sql says why there is a bound).
        within_bound(try_cast(whole_number(quantity_text) as integer), 999999) as quantity,
        idr_amount(unit_price_text) as unit_price_idr,
        idr_amount(line_amount_text) as line_amount_idr
    from lines
)

select * from final
