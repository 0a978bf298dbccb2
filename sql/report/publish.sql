-- The version this file holds: the last row of its own publish log.
select version, published_at, run_id, len(input_sha256s) as input_files
from meta.publish_log
order by published_at desc
limit 1
