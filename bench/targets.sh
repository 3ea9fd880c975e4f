#!/usr/bin/env bash
# The targets of GitHub issue 16, each beside its figure, met or NOT met,
# from the `NAME VALUE` lines the benches wrote (lib.sh's `result`).
#
#     bench/targets.sh RESULTS_FILE
#
# The names (a bench that did not run leaves its rows "not measured"):
#   roundtrip_ratio        round trip wall, jobcell ÷ the helper way       roundtrip.sh
#   roundtrip_calls        engine calls of one round trip                 roundtrip.sh
#   put_ratio, get_ratio   large file throughput, jobcell ÷ docker cp     volume.sh
#   put_peak_kib, get_peak_kib   jobcell's peak RSS in that transfer      volume.sh
#   launch_cpu_s           CPU of one `run` of `true`, fake engine         instructions.sh
#   launch_peak_kib, launch_ir   its peak RSS, its instructions           instructions.sh
#   launch_calls           engine calls of one launch                     instructions.sh
#   many_jobs_per_s_K, many_cpu_s_K, many_pss_kib_K   N jobs at once, K one of
#                          jobcell_bind, jobcell_volume, docker, sdk      many.sh
#   idle_wakeups, idle_allowed, idle_seconds   a sleeping job's supervisor idle.sh
set -euo pipefail
[ $# = 1 ] || { echo "usage: bench/targets.sh RESULTS_FILE" >&2; exit 2; }
declare -A v
if [ -r "$1" ]; then
	while read -r name value; do [ -n "$name" ] && v[$name]=$value; done <"$1"
fi

have() { for n in "$@"; do [ -n "${v[$n]:-}" ] || return 1; done; }
# cmp EXPR: awk's verdict on an expression of numbers
cmp() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "NOT met"; fi; }
f() { awk -v x="$2" "BEGIN { printf \"$1\", x }"; }

rows=()
add() { rows+=("$1"$'\t'"$2"$'\t'"$3"); } # TARGET FIGURE VERDICT
# judge TARGET NAMES FIGURE_CMD VERDICT_EXPR: the row, or "not measured"
judge() {
	local target=$1 names=$2 figure=$3 expr=$4
	# shellcheck disable=SC2086 # names are words
	if have $names; then add "$target" "$(eval "$figure")" "$(cmp "$(eval "echo \"$expr\"")")"
	else add "$target" "not measured" "-"; fi
}

judge "round trip ≤ 0.20× the helper way" roundtrip_ratio \
	'f "%.2f×" "${v[roundtrip_ratio]}"' '${v[roundtrip_ratio]} <= 0.20'
judge "put of 1 GiB ≥ 1.0× docker cp" put_ratio \
	'f "%.2f×" "${v[put_ratio]}"' '${v[put_ratio]} >= 1.0'
judge "get of 1 GiB ≥ 1.0× docker cp" get_ratio \
	'f "%.2f×" "${v[get_ratio]}"' '${v[get_ratio]} >= 1.0'
judge "put: memory < 16 MiB" put_peak_kib \
	'f "%.1f MiB" "$(awk -v k="${v[put_peak_kib]}" "BEGIN { print k / 1024 }")"' \
	'${v[put_peak_kib]} < 16384'
judge "get: memory < 16 MiB" get_peak_kib \
	'f "%.1f MiB" "$(awk -v k="${v[get_peak_kib]}" "BEGIN { print k / 1024 }")"' \
	'${v[get_peak_kib]} < 16384'
judge "launch CPU ≤ 5 ms (fake engine)" launch_cpu_s \
	'f "%.1f ms" "$(awk -v s="${v[launch_cpu_s]}" "BEGIN { print s * 1000 }")"' \
	'${v[launch_cpu_s]} <= 0.005'
for k in bind volume; do
	judge "$k mode: jobs/s ≥ docker CLI's ($(f %s "${v[many_jobs_per_s_docker]:-?}"))" \
		"many_jobs_per_s_jobcell_$k many_jobs_per_s_docker" \
		"f '%s jobs/s' \"\${v[many_jobs_per_s_jobcell_$k]}\"" \
		"\${v[many_jobs_per_s_jobcell_$k]} >= \${v[many_jobs_per_s_docker]}"
	judge "$k mode: client CPU ≤ ½ docker CLI's ($(f %.2f "${v[many_cpu_s_docker]:-0}") s)" \
		"many_cpu_s_jobcell_$k many_cpu_s_docker" \
		"f '%.2f s' \"\${v[many_cpu_s_jobcell_$k]}\"" \
		"\${v[many_cpu_s_jobcell_$k]} <= \${v[many_cpu_s_docker]} / 2"
	judge "$k mode: PSS per waiting supervisor < 2 MiB" "many_pss_kib_jobcell_$k" \
		"f '%.2f MiB' \"\$(awk -v k=\"\${v[many_pss_kib_jobcell_$k]}\" 'BEGIN { print k / 1024 }')\"" \
		"\${v[many_pss_kib_jobcell_$k]} < 2048"
done
judge "idle supervisor: ≤ 1 wake-up per engine timeout" "idle_wakeups idle_allowed idle_seconds" \
	'echo "${v[idle_wakeups]} in ${v[idle_seconds]} s (≤ ${v[idle_allowed]})"' \
	'${v[idle_wakeups]} <= ${v[idle_allowed]}'
# shown, not judged: a change in their number shows here
for c in launch roundtrip; do
	if have "${c}_calls"; then add "engine calls of one $c (shown)" "${v[${c}_calls]}" "-"
	else add "engine calls of one $c (shown)" "not measured" "-"; fi
done

printf '%s\n' "${rows[@]}" | LC_ALL=C awk -F'\t' '
	BEGIN { h[1] = "target (issue 16)"; h[2] = "figure"; h[3] = "verdict"
		for (i = 1; i <= 3; i++) { c[0, i] = h[i]; l[0, i] = w[i] = length(h[i]) } }
	{ n++; for (i = 1; i <= 3; i++) { c[n, i] = $i; t = $i
		# count characters, not bytes (≤, ×, ½)
		k = length($i) - gsub(/[\200-\277]/, "", t); l[n, i] = k; if (k > w[i]) w[i] = k } }
	END {
		for (r = 0; r <= n; r++) {
			s = "|"
			for (i = 1; i <= 3; i++) s = s " " c[r, i] sprintf("%" (w[i] - l[r, i]) "s", "") " |"
			print s
			if (r == 0) {
				s = "|"
				for (i = 1; i <= 3; i++) { d = sprintf("%" w[i] "s", ""); gsub(/ /, "-", d); s = s " " d " |" }
				print s
			}
		}
	}'
