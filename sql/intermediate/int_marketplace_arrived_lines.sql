-- materialised: view
-- The order lines of the exports ingested since the last build (in a full build, of every
-- export).
select * exclude (carried_export)
from int_marketplace_line_versions
where not carried_export
