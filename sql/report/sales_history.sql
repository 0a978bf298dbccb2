-- Monthly online sales of each sentra, all marketplaces together: the sentra page's history.
select
    sentra_id,
    month,
    sum(net_idr) as net_idr,
    sum(orders) as orders,
    max(ikm_selling) as ikm_selling
from marts.fct_marketplace_sales_monthly
group by sentra_id, month
order by sentra_id, month
