-- The state the next build starts from: this build's order lines and sales, applied to the
-- attached marts_state in one transaction (the caller's), after the marts passed their checks.
-- Only what changed is written: the line versions that lost (the order lines themselves stay in
-- the clean Parquet of their exports), and the monthly sales of the affected sentra; the small
-- tables are replaced whole.
insert into marts_state.superseded_lines by name
select order_line_id, source_sha256, source_row from int_marketplace_line_changes;

delete from marts_state.sales_monthly
where sentra_id in (select sentra_id from int_marketplace_affected_sentra);

insert into marts_state.sales_monthly by name
select * from int_marketplace_sales_monthly;

delete from marts_state.seller_accounts;

insert into marts_state.seller_accounts by name
select * from int_marketplace_seller_accounts;

delete from marts_state.online_sales;

insert into marts_state.online_sales by name
select * from int_sentra_online_sales;

delete from marts_state.unmatched_sellers;

insert into marts_state.unmatched_sellers by name
select * from marketplace_unmatched_sellers;
