#!/usr/bin/env bash
# The layer rule of DESIGN.md, checked: dependencies point down only.
#
#   core  <  net  <  tag  <  layout  <  s7, s7plus, modbus, shm  <  sync  <  out, mqtt
#
# A source file in src/MODULE, and a public header of that module, may include the
# headers (src/OTHER/*.h or include/plcio/*.h) of its own module and of lower layers
# only; modules on the same layer do not include each other. tools/ and bench/ include
# the public headers (plcio/*.h) and their own files only. plcio.h, the umbrella
# header, stands above everything. Prints every violation as FILE:LINE: why; exits 1
# when there is one.
#
#   scripts/check-layers.sh [ROOT]     (make check runs it; tests/ci/check_layers_test.sh
#                                       shows it failing on a planted violation)
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

# module -> layer
declare -A layer=([core]=0 [net]=1 [tag]=2 [layout]=3 [s7]=4 [s7plus]=4 [modbus]=4 [shm]=4 [sync]=5 [out]=6 [mqtt]=6)
# public header -> the module that owns it
declare -A owner=(
  [export]=core [version]=core [core]=core [types]=core [bytes]=core [url]=core
  [address]=tag [value]=tag [word_order]=tag [layout]=layout
  [loop]=net [s7]=s7 [s7_server]=s7 [s7_partner]=s7 [s7plus]=s7plus [modbus]=modbus [gateway]=modbus [shm]=shm [sync]=sync
  [driver]=sync [sink]=sync [http]=out [mqtt]=mqtt [plcio]=top
)

bad=0
# the quoted file of an #include line (a bash regex: no process per line)
include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)"'
complain() { echo "$1: $2"; bad=$((bad + 1)); }

# check FILE MODULE: every quoted include of FILE against MODULE's layer
check() {
  local file=$1 mod=$2 n line inc dir base to
  while IFS=: read -r n line; do
    inc=""
    [[ $line =~ $include_re ]] && inc=${BASH_REMATCH[1]}
    [ -n "$inc" ] || continue
    case "$inc" in
      */*) dir=${inc%%/*}; base=${inc##*/}; base=${base%.h} ;;
      *) continue ;; # a file beside it
    esac
    if [ "$dir" = plcio ]; then
      to=${owner[$base]:-}
      [ -n "$to" ] || { complain "$file:$n" "includes plcio/$base.h, which no layer owns (add it to scripts/check-layers.sh)"; continue; }
    else
      to=$dir
      [ -n "${layer[$to]:-}" ] || { complain "$file:$n" "includes $inc: no such module"; continue; }
    fi
    [ "$to" = "$mod" ] && continue
    [ "$to" = top ] && { complain "$file:$n" "includes plcio/plcio.h (the umbrella header is for users, not for the library)"; continue; }
    if [ "${layer[$to]}" -ge "${layer[$mod]}" ]; then
      complain "$file:$n" "$mod (layer ${layer[$mod]}) includes $inc of $to (layer ${layer[$to]}): dependencies point down only"
    fi
  done < <(grep -n '#[[:space:]]*include[[:space:]]*"' "$file" || true)
}

for f in $(git ls-files 'src/*.c' 'src/*.h'); do
  mod=${f#src/}; mod=${mod%%/*}
  [ -n "${layer[$mod]:-}" ] || { complain "$f" "src/$mod is not a known module (add it to scripts/check-layers.sh)"; continue; }
  check "$f" "$mod"
done
for f in $(git ls-files 'include/plcio/*.h' 'include/plcio/*.h.in'); do
  base=${f##*/}; base=${base%.in}; base=${base%.h}
  mod=${owner[$base]:-}
  [ -n "$mod" ] || { complain "$f" "public header no layer owns (add it to scripts/check-layers.sh)"; continue; }
  [ "$mod" = top ] && continue
  check "$f" "$mod"
done
for f in $(git ls-files 'tools/*.c' 'tools/*.h' 'bench/*.c' 'bench/*.h'); do
  while IFS=: read -r n line; do
    inc=""
    [[ $line =~ $include_re ]] && inc=${BASH_REMATCH[1]}
    case "$inc" in
      plcio/*|"") ;;
      */*) complain "$f:$n" "includes $inc: tools/ and bench/ use the public headers (plcio/*.h) only" ;;
    esac
  done < <(grep -n '#[[:space:]]*include[[:space:]]*"' "$f" || true)
done

if [ "$bad" -gt 0 ]; then
  echo "check-layers: $bad violation(s) of the layer rule (DESIGN.md: dependencies point down only)"
  exit 1
fi
echo "check-layers: every include points down ($(git ls-files 'src/*' 'include/*' 'tools/*' 'bench/*' | wc -l) files)"
