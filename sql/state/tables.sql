-- What a build carries forward to the next one (docs/marts.md, "Incremental builds"): a DuckDB
-- file beside the published marts, attached as marts_state. A new state starts with these
-- empty tables, and a build on an empty state is a full build.

-- The latest version of every marketplace order line (the deduplication the sales marts need),
-- with only the columns the marts read.
create table if not exists marts_state.order_lines (
    order_line_id varchar,
    marketplace varchar,
    seller_account varchar,
    order_id varchar,
    status varchar,
    order_date date,
    quantity integer,
    gross_idr bigint,
    net_idr bigint,
    buyer_hash varchar,
    source_sha256 varchar,
    source_name varchar,
    source_row bigint,
    landed_at timestamptz,
    received_at timestamptz
);

-- The shop -> IKM -> sentra assignment the carried sales were computed with.
create table if not exists marts_state.seller_accounts (
    marketplace varchar,
    seller_account varchar,
    id_ikm varchar,
    sentra_id varchar
);

-- The rows of int_marketplace_sales_monthly, int_sentra_online_sales and
-- marketplace_unmatched_sellers as last built.
create table if not exists marts_state.sales_monthly (
    sentra_id varchar,
    order_month timestamp,
    marketplace varchar,
    orders bigint,
    completed_orders bigint,
    order_lines bigint,
    cancelled_lines bigint,
    returned_lines bigint,
    units hugeint,
    gross_idr hugeint,
    net_idr hugeint,
    buyers bigint,
    ikm_selling bigint,
    ikm_with_orders bigint
);

create table if not exists marts_state.online_sales (
    sentra_id varchar,
    net_sales_window_idr double,
    net_sales_earlier_idr double,
    net_sales_later_idr double,
    members_selling bigint
);

create table if not exists marts_state.unmatched_sellers (
    marketplace varchar,
    seller_account varchar,
    orders bigint,
    order_lines bigint,
    net_idr hugeint,
    first_order_date date,
    last_order_date date,
    exports bigint,
    latest_export varchar
);

-- Which build wrote the state: the models' version and the marts version it was published as.
create table if not exists marts_state.build (
    model_version varchar,
    published_version varchar
);

-- The marketplace exports already in order_lines: clean key and the ledger record that
-- ingested it (a replay that re-ingests a file has a new record, and the state is not reused).
create table if not exists marts_state.inputs (
    clean_key varchar,
    ledger_record varchar
);
