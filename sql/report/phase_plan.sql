-- Sentra planned per phase year and province (the capacity comes from the scoring configuration).
select phase_year, province_name, count(*) as sentra
from marts.sentra_revitalisation_score
where phase_year is not null
group by phase_year, province_name
order by phase_year, sentra desc, province_name
