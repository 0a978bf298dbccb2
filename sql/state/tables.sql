-- What a build carries forward to the next one (docs/marts.md, "Incremental builds"): a DuckDB
-- file beside the published marts, attached as marts_state. A new state starts with these
-- empty tables, and a build on an empty state is a full build.

-- The versions of order lines in the carried exports (their clean Parquet) that lost to another
-- version of the same line: the carried order lines are the lines of those exports without
-- these (int_marketplace_carried_lines). A version is its line in its export and row.
create table if not exists marts_state.superseded_lines (
    order_line_id varchar,
    source_sha256 varchar,
    source_row bigint
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

-- The marketplace exports the state carries: clean key and the ledger record that ingested it
-- (a replay that re-ingests a file has a new record, and the state is not reused).
create table if not exists marts_state.inputs (
    clean_key varchar,
    ledger_record varchar
);

-- The columns of each carried export's clean file (a digest of their names and types, as
-- publish.clean_schemas computes it): files alike are read in one scan that does not match
-- columns by name, whose reading of every file's schema costs ~0.03 s per query over ~600 files.
create table if not exists marts_state.carried_schemas (
    clean_key varchar,
    schema_digest varchar
);

-- The models whose rows the state keeps (as kept__<model>), with the digest of the clean files
-- and ledger records they were built from: the next build copies them when those are unchanged.
create table if not exists marts_state.kept_models (
    model varchar,
    inputs_digest varchar
);
