-- How recent each feed's data was when this version was built, scope by scope.
select source, scope, scope_label, last_landed_at, age_days, freshness_limit_days, overdue
from meta.data_freshness
order by source, overdue desc, scope
