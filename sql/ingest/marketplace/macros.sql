-- Scalar macros of the marketplace conversion, created as temporary macros on its connection.

-- A cell as text: surrounding spaces, tabs and no-break spaces removed (TikTok Shop-style
-- exports end long ids with a tab so spreadsheets keep them as text); empty means missing.
create or replace temp macro cell(value) as
    nullif(trim(cast(value as varchar), ' ' || chr(9) || chr(160)), '');

-- An amount as written ("Rp 1.250.000", "Rp. 1.250.000,-", "IDR 125000", "125000") without
-- its currency, spaces and the ",-" Indonesian price notation writes for "no cents".
create or replace temp macro idr_text(value) as
    replace(replace(replace(replace(replace(replace(
        upper(value), 'RP.', ''), 'RP', ''), 'IDR', ''), ' ', ''), ',-', ''), '.-', '');

-- Whole rupiah from idr_text(): Indonesian grouping ("1.250.000", "1.250.000,50"), plain digits
-- ("125000", "125000,5") or a plain decimal point ("125000.50", as JSON numbers come). A single
-- dot before exactly three digits is a thousands separator ("1.250" is 1250): no rupiah price
-- has three decimals. English grouping ("1,250,000") and anything else is unreadable (NULL),
-- never guessed. Cents are rounded to the nearest rupiah.
create or replace temp macro idr_amount(text) as
    case
        when regexp_full_match(text, '\d+\.\d{1,2}')
            then cast(round(cast(text as decimal(18, 2))) as bigint)
        when regexp_full_match(text, '(\d{1,3}(\.\d{3})+|\d+)(,\d{1,2})?')
            then cast(round(cast(replace(replace(text, '.', ''), ',', '.') as decimal(18, 2)))
                as bigint)
    end;
