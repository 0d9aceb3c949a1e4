#!/usr/bin/env bash
# Writes the samples in config/samples: a small but real rollout of three
# local areas, their Mental Health Support Teams and the allocation of the
# teams' time to real schools.
#
# Usage: hack/samples.sh path/to/schools-england-2022-23.csv
#
# The schools, their URNs, names, phases, pupils and free school meals counts
# come from the DfE register ("Schools, pupils and their characteristics",
# 2022/23). The areas' waves, boards, teams, staffing and agreements are
# illustrative. The output depends only on the input file: schools are taken
# in postcode order (so that a team's schools are near each other), then URN.
set -euo pipefail

SCHOOLS_CSV=${1:?usage: hack/samples.sh path/to/schools-england-2022-23.csv}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/config/samples
IMAGE=nginxinc/nginx-unprivileged:1.27
# A team takes settings in order until one more would pass these limits:
# 18 of the 20 settings of the API's default capacity, leaving room for a
# school that asks later, and its 8,500 pupils.
MAX_SETTINGS=18
MAX_PUPILS=8500

export LC_ALL=C

# schools CODE prints the state-funded schools of the local authority with
# ONS code CODE, one per line: postcode, urn, name, phase, pupils, free school
# meals (empty when suppressed), tab-separated, in postcode then URN order.
schools() {
  awk -v code="$1" '
    # csv splits a line of the register into f[1..n]; fields are quoted and
    # may hold commas and doubled quotes.
    function csv(line,    i, c, n, field, quoted) {
      n = 0; field = ""; quoted = 0
      for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (quoted) {
          if (c == "\"" && substr(line, i + 1, 1) == "\"") { field = field c; i++ }
          else if (c == "\"") quoted = 0
          else field = field c
        } else if (c == "\"") quoted = 1
        else if (c == ",") { f[++n] = field; field = "" }
        else field = field c
      }
      f[++n] = field
      return n
    }
    NR == 1 {
      n = csv($0)
      for (i = 1; i <= n; i++) col[f[i]] = i
      split("new_la_code urn school_name phase_type_grouping school_postcode", need, " ")
      need[6] = "headcount of pupils"
      need[7] = "number of pupils known to be eligible for free school meals"
      for (i = 1; i <= 7; i++) if (!(need[i] in col)) { print "samples: no column " need[i] > "/dev/stderr"; exit 1 }
      phase["State-funded primary"] = "Primary"
      phase["State-funded secondary"] = "Secondary"
      phase["State-funded special school"] = "Special"
      phase["State-funded nursery"] = "Nursery"
      phase["State-funded AP school"] = "AlternativeProvision"
      next
    }
    index($0, "\"" code "\"") {
      csv($0)
      if (f[col["new_la_code"]] != code || !(f[col["phase_type_grouping"]] in phase)) next
      fsm = f[col["number of pupils known to be eligible for free school meals"]]
      if (fsm !~ /^[0-9]+$/) fsm = ""
      printf "%s\t%s\t%s\t%s\t%s\t%s\n", f[col["school_postcode"]], f[col["urn"]], f[col["school_name"]],
        phase[f[col["phase_type_grouping"]]], f[col["headcount of pupils"]], fsm
    }
  ' "$SCHOOLS_CSV" | sort -t "$(printf '\t')" -k1,1 -k2,2n
}

# The schools of the area being written, and the next one to allocate.
ROWS=()
NEXT=0

# quote prints $1 as a double-quoted YAML string.
quote() {
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

# setting prints one entry of a SchoolCoverage's settings. Secondary schools
# get two days a week (4 half-day sessions); the others the default, one day.
setting() {
  local urn=$1 name=$2 phase=$3 pupils=$4 fsm=$5 sessions=$6
  printf '    - urn: "%s"\n      name: %s\n      phase: %s\n      pupils: %s\n' "$urn" "$(quote "$name")" "$phase" "$pupils"
  if [ -n "$fsm" ]; then
    printf '      disadvantagedPupils: %s\n' "$fsm"
  fi
  if [ "$sessions" = yes ] && [ "$phase" = Secondary ]; then
    printf '      sessionsPerWeek: 4\n'
  fi
}

# take prints the settings of the next schools, in order, while they fit in
# a team's capacity (LIMIT=all: every school left, with default sessions).
take() {
  local limit=$1 count=0 pupils=0 postcode urn name phase n fsm
  while [ "$NEXT" -lt "${#ROWS[@]}" ]; do
    IFS=$'\t' read -r postcode urn name phase n fsm <<<"${ROWS[$NEXT]}"
    if [ "$limit" = team ] && { [ $((count + 1)) -gt $MAX_SETTINGS ] || [ $((pupils + n)) -gt $MAX_PUPILS ]; }; then
      break
    fi
    if [ "$limit" = team ]; then setting "$urn" "$name" "$phase" "$n" "$fsm" yes; else setting "$urn" "$name" "$phase" "$n" "$fsm" no; fi
    count=$((count + 1)); pupils=$((pupils + n)); NEXT=$((NEXT + 1))
  done
}

# begin_area loads the schools of local authority $1 and writes the file
# header to stdout.
begin_area() {
  mapfile -t ROWS < <(schools "$1")
  NEXT=0
  if [ "${#ROWS[@]}" -eq 0 ]; then
    echo "samples: no state-funded schools for $1 in $SCHOOLS_CSV" >&2
    exit 1
  fi
  cat <<EOF
# $2
#
# Schools: Department for Education, "Schools, pupils and their characteristics",
# academic year 2022/23 (January 2023 census), school-level data.
# Contains public sector information licensed under the Open Government Licence v3.0.
#
# Generated by hack/samples.sh. The schools and their figures are real; the
# area's wave, board, teams, staffing and agreements are illustrative.
EOF
}

# team prints a SupportTeam: namespace, name, display name, EMHPs, senior
# clinicians, higher-level therapists, vacancies.
team() {
  cat <<EOF
---
apiVersion: mhst.io/v1alpha1
kind: SupportTeam
metadata:
  namespace: $1
  name: $2
spec:
  displayName: $(quote "$3")
  staffing:
    educationMentalHealthPractitioners: $4
    seniorClinicians: $5
    higherLevelTherapists: $6
    vacancies: $7
  interventions:
    - GuidedSelfHelp
    - GroupWork
    - ParentLed
    - WholeSchoolApproach
    - Consultation
    - Signposting
  service:
    image: $IMAGE
    replicas: 2
    port: 8080
    resources:
      requests:
        cpu: 50m
        memory: 64Mi
      limits:
        memory: 128Mi
EOF
}

# allocation prints a SchoolCoverage of team $3 with the schools that fit in
# its capacity; with $4 (decision), $5 (date) and $6 (who) it is agreed,
# without them it is proposed.
allocation() {
  cat <<EOF
---
apiVersion: mhst.io/v1alpha1
kind: SchoolCoverage
metadata:
  namespace: $1
  name: $2
spec:
  teamRef:
    name: $3
EOF
  if [ $# -gt 3 ]; then
    cat <<EOF
  agreement:
    decisionRef: $(quote "$4")
    agreedAt: "$5"
    agreedBy: $(quote "$6")
EOF
  fi
  echo "  settings:"
  take team
}

# not_yet_covered prints a SchoolCoverage without a team listing every school
# left, so that the area's coverage counts all its pupils.
not_yet_covered() {
  if [ "$NEXT" -ge "${#ROWS[@]}" ]; then
    return
  fi
  cat <<EOF
---
apiVersion: mhst.io/v1alpha1
kind: SchoolCoverage
metadata:
  namespace: $1
  name: $2
spec:
  settings:
EOF
  take all
}

hartlepool() {
  begin_area E06000001 "Hartlepool: a trailblazer area (wave 0) with one team whose allocation the board has agreed."
  cat <<'EOF'
apiVersion: mhst.io/v1alpha1
kind: LocalArea
metadata:
  name: hartlepool
spec:
  displayName: Hartlepool
  localAuthorityCode: E06000001
  region: North East
  integratedCareBoard: NHS North East and North Cumbria Integrated Care Board
  wave: 0
  governance:
    board:
      - kind: Group
        name: nenc-icb-hartlepool-place
        sector: Health
        role: Chair
      - kind: Group
        name: hartlepool-camhs
        sector: Health
      - kind: Group
        name: hartlepool-headteachers
        sector: Education
      - kind: Group
        name: hartlepool-childrens-services
        sector: LocalAuthority
      - kind: Group
        name: hartlepool-youth-council
        sector: YoungPeople
    leads:
      - kind: Group
        name: hartlepool-mhst-managers
EOF
  team mhst-hartlepool hartlepool-mhst "Hartlepool Mental Health Support Team" 6 2 1 1
  allocation mhst-hartlepool hartlepool-mhst-2023 hartlepool-mhst \
    "Hartlepool MHST governance board, minutes of 12 July 2023, item 4" 2023-07-12 "Hartlepool MHST governance board"
  not_yet_covered mhst-hartlepool hartlepool-not-yet-covered
}

york() {
  begin_area E06000014 "York: an area of wave 2 with two teams, both allocations agreed."
  cat <<'EOF'
apiVersion: mhst.io/v1alpha1
kind: LocalArea
metadata:
  name: york
spec:
  displayName: York
  localAuthorityCode: E06000014
  region: Yorkshire and The Humber
  integratedCareBoard: NHS Humber and North Yorkshire Integrated Care Board
  wave: 2
  governance:
    board:
      - kind: Group
        name: hny-icb-york-place
        sector: Health
      - kind: Group
        name: york-schools-forum
        sector: Education
        role: Chair
      - kind: Group
        name: york-council-education-skills
        sector: LocalAuthority
      - kind: Group
        name: york-parent-carer-forum
        sector: ParentsCarers
      - kind: Group
        name: york-youth-voice
        sector: YoungPeople
    leads:
      - kind: Group
        name: york-mhst-managers
EOF
  team mhst-york york-mhst-1 "York Mental Health Support Team 1" 8 2 1 0
  team mhst-york york-mhst-2 "York Mental Health Support Team 2" 5 1 0 2
  allocation mhst-york york-mhst-1-2023 york-mhst-1 \
    "York MHST governance board, minutes of 5 September 2023, item 3" 2023-09-05 "York MHST governance board"
  allocation mhst-york york-mhst-2-2023 york-mhst-2 \
    "York MHST governance board, minutes of 5 September 2023, item 3" 2023-09-05 "York MHST governance board"
  not_yet_covered mhst-york york-not-yet-covered
}

rutland() {
  begin_area E06000017 "Rutland: an area of wave 4 whose team's allocation is still proposed."
  cat <<'EOF'
apiVersion: mhst.io/v1alpha1
kind: LocalArea
metadata:
  name: rutland
spec:
  displayName: Rutland
  localAuthorityCode: E06000017
  region: East Midlands
  integratedCareBoard: NHS Leicester, Leicestershire and Rutland Integrated Care Board
  wave: 4
  # The national target for 2024-25: half of all pupils.
  coverageTarget: 50
  governance:
    board:
      - kind: Group
        name: llr-icb-children-young-people
        sector: Health
        role: Chair
      - kind: Group
        name: rutland-headteachers
        sector: Education
      - kind: Group
        name: rutland-council-childrens-services
        sector: LocalAuthority
    leads:
      - kind: Group
        name: rutland-mhst-managers
EOF
  team mhst-rutland rutland-mhst "Rutland Mental Health Support Team" 4 1 0 2
  # Proposed: the board has not agreed it yet, so it covers no one yet.
  allocation mhst-rutland rutland-mhst-proposed rutland-mhst
  not_yet_covered mhst-rutland rutland-not-yet-covered
}

hartlepool >"$OUT/hartlepool.yaml"
york >"$OUT/york.yaml"
rutland >"$OUT/rutland.yaml"
echo "samples: wrote $OUT/hartlepool.yaml $OUT/york.yaml $OUT/rutland.yaml" >&2
