#!/usr/bin/env bash
# Fails if an #include crosses the dependency direction:
#   format <- net <- builder <- cli,   format <- net <- runtime <- cli
# format includes none of ours; net only format; builder and runtime never
# include each other or cli.
set -u
top=${1:-$(dirname "$0")/..}
cd "$top" || exit 2
bad=0
check() { # folder, forbidden folders...
  local dir=$1; shift
  for f in "$@"; do
    hits=$(grep -rnE "#include[[:space:]]+[\"<]$f/" "$dir" 2>/dev/null)
    if [ -n "$hits" ]; then
      echo "layer violation: $dir/ must not include $f/:"; echo "$hits"; bad=1
    fi
  done
}
check format net builder runtime cli
check net builder runtime cli
check builder runtime cli
check runtime builder cli
[ $bad -eq 0 ] && echo "layers ok: format <- net <- builder, runtime <- cli"
exit $bad
