-- percent_rank_among(population, value): the percentile rank (0-1) of value among the rows where
-- population is true and value is present; null elsewhere. The score ranks each of its inputs
-- this way (docs/scoring.md: pct(x) among eligible sentra that have the input), so a missing
-- input takes the neutral value instead of ranking as the lowest or the highest.
-- A window function inside a macro: use it in a select list, like percent_rank() itself.
-- A temporary macro: the models use it while the file is built; the published file holds
-- only tables.
create or replace temp macro percent_rank_among(population, value) as
    case when population and value is not null then percent_rank() over (
        partition by population, value is not null order by value) end;
