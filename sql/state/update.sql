-- The state the next build starts from: this build's order lines and sales, applied to the
-- attached marts_state in one transaction (the caller's), after the marts passed their checks.
-- Only what changed is written: the line versions that lost (the order lines themselves stay in
-- the clean Parquet of their exports), the monthly sales of the affected sentra and the
-- assignments of the affected shops; the small tables are replaced whole.
insert into marts_state.superseded_lines by name
select order_line_id, source_sha256, source_row from int_marketplace_line_changes;

delete from marts_state.sales_monthly
where sentra_id in (select sentra_id from int_marketplace_affected_sentra);

insert into marts_state.sales_monthly by name
select * from int_marketplace_sales_monthly;

-- Only the affected shops' assignments can differ (int_marketplace_affected_shops names every
-- shop assigned differently than the carried one), and only those that differ are replaced:
-- deleting and inserting an unchanged row still makes DuckDB rewrite its ~100,000-row row
-- group at the next checkpoint (0.13 s nationally).
delete from marts_state.seller_accounts as carried
using int_marketplace_affected_shops as affected
where carried.marketplace = affected.marketplace
    and carried.seller_account = affected.seller_account
    and not exists (
        select 1
        from int_marketplace_seller_accounts as assigned
        where assigned.marketplace = carried.marketplace
            and assigned.seller_account = carried.seller_account
            and assigned.id_ikm is not distinct from carried.id_ikm
            and assigned.sentra_id is not distinct from carried.sentra_id
    );

insert into marts_state.seller_accounts by name
select assigned.*
from int_marketplace_seller_accounts as assigned
semi join int_marketplace_affected_shops using (marketplace, seller_account)
anti join marts_state.seller_accounts using (marketplace, seller_account);

delete from marts_state.online_sales;

insert into marts_state.online_sales by name
select * from int_sentra_online_sales;

delete from marts_state.unmatched_sellers;

insert into marts_state.unmatched_sellers by name
select * from marketplace_unmatched_sellers;
