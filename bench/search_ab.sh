#!/usr/bin/env bash
# search_ab.sh: A/B of the statements one search page sends, before and
# after migration 0016 (BENCHMARKS.md, "Search picks its plan from the
# planner's estimate"), in one run, alternating.
#
#   bench/search_ab.sh DATABASE ROUNDS TERM...
#
# DATABASE is a seeded database still at migration 0015 (e.g. one kept by
# `crmhub-bench scale -keep`, migrated with the binary of 02be3b9): it keeps
# 0015's contact_search_ids (before) and gets 0016's function beside it as
# contact_search_ids_est (after), with 0016's statistics target; both are
# removed at the end. Each plan is a pgbench script: the lookup, then the
# listing by ids or by walk, as db/contact_search.go builds them. Prints
# pgbench's latency average (ms) per round. T sets seconds per
# measurement (default 3); PGURL the server (default local postgres).
set -euo pipefail
db=$1 rounds=$2
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
pg=(psql "${PGURL:-postgres://postgres@127.0.0.1:5432}/$db" -qAt -v ON_ERROR_STOP=1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; "${pg[@]}" -c "DROP FUNCTION IF EXISTS contact_search_ids_est(text, text, int, int)" \
	-c "ALTER TABLE contact_search ALTER COLUMN doc SET STATISTICS -1" -c "ANALYZE contact_search" >/dev/null' EXIT

sed -n '/^CREATE FUNCTION contact_search_ids/,/END \$\$;/p' "$here/db/migrations/0016_contact_search_estimate.tx.up.sql" |
	sed 's/^CREATE FUNCTION contact_search_ids/CREATE FUNCTION contact_search_ids_est/' >"$tmp/est.sql"
"${pg[@]}" -f "$tmp/est.sql" -c "GRANT EXECUTE ON FUNCTION contact_search_ids_est(text, text, int, int) TO crmhub_app" \
	-c "ALTER TABLE contact_search ALTER COLUMN doc SET STATISTICS 300" -c "ANALYZE contact_search"
ws=$("${pg[@]}" -c "SELECT id FROM workspaces LIMIT 1")

for term in "$@"; do
	p="%$term%" a="%$term%"
	# Mostly digits: the digits alone too (searchCondition).
	d=$(tr -cd '0-9' <<<"$term")
	if [ ${#d} -ge 3 ] && [ $((${#d} * 2)) -ge ${#term} ]; then a="%$d%"; fi
	for v in before after; do
		call="contact_search_ids('$p', '$a', 5000)"
		[ $v = after ] && call="contact_search_ids_est('$p', '$a', 5000, 21)"
		cat >"$tmp/$v.sql" <<SQL
SET ROLE crmhub_app;
SELECT set_config('app.workspace_id', '$ws', false);
SELECT (m IS NULL)::int AS common, coalesce(m, '{}') AS ids FROM $call AS m \gset
\if :common
SELECT c.* FROM contacts c WHERE c.workspace_id = '$ws' AND EXISTS (SELECT 1 FROM contact_search s WHERE s.workspace_id = c.workspace_id AND s.contact_id = c.id AND (s.doc LIKE '$p' OR s.doc LIKE '$a')) ORDER BY c.created_at, c.id LIMIT 21;
\else
SELECT c.* FROM contacts c WHERE c.workspace_id = '$ws' AND c.id = ANY(':ids'::uuid[]) ORDER BY c.created_at, c.id LIMIT 21;
\endif
SQL
	done
	out="$term:"
	for _ in $(seq "$rounds"); do
		for v in before after; do
			ms=$(pgbench "${PGURL:-postgres://postgres@127.0.0.1:5432}/$db" -n -T "${T:-3}" -f "$tmp/$v.sql" 2>&1 |
				awk '/latency average/ {print $4}')
			out="$out $v=${ms:-failed}"
		done
	done
	echo "$out"
done
