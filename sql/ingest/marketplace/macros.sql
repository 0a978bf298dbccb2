-- Scalar macros of the marketplace conversion, created as temporary macros on its connection.
-- They run on every line of exports of millions of lines: each avoids work where it can.

-- A cell as text: surrounding spaces, tabs and no-break spaces removed (TikTok Shop-style
-- exports end long ids with a tab so spreadsheets keep them as text); empty means missing.
-- Trimming makes a new string, so it happens only where an end needs it. The first character
-- is read once as a code point (ord) rather than tested three times: on every field of every
-- line that is ~0.25 CPU-s less per 1 M lines (docs/benchmarks.md), with the same result.
create or replace temp macro cell(value) as
    case
        when value = '' then null
        when ord(value) in (9, 32, 160)
            or ends_with(value, ' ') or ends_with(value, chr(9)) or ends_with(value, chr(160))
            then nullif(trim(value, ' ' || chr(9) || chr(160)), '')
        else value
    end;

-- The parts of an amount as exports write it: "Rp 1.250.000", "Rp. 27.500,-", "IDR 125000",
-- "1.250.000,50" (Indonesian grouping, optional cents after a comma) or "125000.50" (a plain
-- decimal point, as JSON numbers come). A single dot before exactly three digits is a
-- thousands separator ("1.250" is 1250): no rupiah price has three decimals. Anything else,
-- English grouping ("1,250,000") included, matches nothing: unreadable, never guessed.
create or replace temp macro idr_parts(value) as
    regexp_extract(
        value,
        '(?i)^\s*(?:rp\.?|idr)?\s*(?:(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?|(\d+)\.(\d{1,2}))'
        || '\s*(?:[.,]-)?\s*$',
        ['grouped', 'cents', 'plain', 'decimals']
    );

-- Whole rupiah from idr_parts(); cents round to the nearest rupiah. NULL when nothing matched,
-- or when the digits are too many for a HUGEINT (a damaged cell, never an error).
create or replace temp macro idr_from_parts(parts) as
    try_cast(
        coalesce(nullif(replace(parts.grouped, '.', ''), ''), nullif(parts.plain, '')) as hugeint
    )
    + cast(
        round(cast('0.' || coalesce(nullif(parts.cents, ''), nullif(parts.decimals, ''), '0')
            as double))
        as bigint
    );

-- A whole number written as plain digits ("2", "125000"), else NULL. A cast that reads back
-- as the same text: the cast alone also takes '2.5' (as 3), '1.250' (as 1), '1e3' and '1_000'.
create or replace temp macro whole_number(value) as
    case when cast(try_cast(value as bigint) as varchar) = value then try_cast(value as bigint) end;

-- A number within -bound..bound, else NULL: past the bounds below a cell is damaged, and within
-- them unit price x quantity always fits in a BIGINT (10^12 x 10^6), so no line can overflow.
create or replace temp macro within_bound(number, bound) as
    case when number between -bound and bound then number end;

-- Whole rupiah from an amount as written, up to Rp 999.999.999.999 (no order line of a small
-- industry comes near). Plain digits (JSON numbers, TikTok Shop-style exports) skip the pattern.
create or replace temp macro idr_amount(value) as
    cast(
        within_bound(
            coalesce(whole_number(value), idr_from_parts(idr_parts(value))), 999999999999
        ) as bigint
    );

-- A status as the marts count it (completed, cancelled, returned) from the spelling an export
-- writes; NULL when the vocabulary (pipelines/reference/marketplace_statuses.csv, loaded into
-- the variable `statuses` as a map) does not know it. A map lookup, not a join: joins reorder.
create or replace temp macro order_status(value) as
    map_extract_value(getvariable('statuses'), lower(value));

-- The Kemendagri code of a buyer's province: the spellings exports use most (each province's
-- name and aliases in their usual cases, loaded into the variable `province_codes` by
-- ProvinceCodes.known()) from a map, any other through the Python function province_code(),
-- which resolves it the same way and lists what it cannot resolve. COALESCE calls the function
-- only for the lines the map left without a code.
create or replace temp macro buyer_province_code(value) as
    case when value is not null then
        coalesce(map_extract_value(getvariable('province_codes'), value), province_code(value))
    end;
