-- materialised: view
-- The latest version of every order line the last build knew: the lines of the exports the
-- carried state holds, without the versions that lost to another one
-- (marts_state.superseded_lines). Nothing is copied: the lines stay in their clean Parquet.
select versions.* exclude (carried_export)
from int_marketplace_line_versions as versions
anti join marts_state.superseded_lines as superseded
    using (order_line_id, source_sha256, source_row)
where versions.carried_export
