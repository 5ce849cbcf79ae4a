#!/usr/bin/env bash
# Checks `make install` on the test build (CONFIGURATION=debug: no second build of the graph): the binary, the man
# page (rendered by man when it is installed, else checked for its sections) and the completion scripts (bash: syntax
# and a real completion of pipeline names; zsh and fish: syntax, when those shells are installed).
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
prefix=$(mktemp -d)
project=$(mktemp -d)
trap 'rm -rf "$prefix" "$project"' EXIT

make --no-print-directory install PREFIX="$prefix" CONFIGURATION=debug SWIFT="$SWIFT"
for file in bin/ingest share/man/man1/ingest.1 share/bash-completion/completions/ingest \
    share/zsh/site-functions/_ingest share/fish/vendor_completions.d/ingest.fish; do
  [ -s "$prefix/$file" ] || { echo "check-install: $file missing or empty" >&2; exit 1; }
done
"$prefix/bin/ingest" --version >/dev/null

man_page="$prefix/share/man/man1/ingest.1"
for section in NAME SYNOPSIS DESCRIPTION; do
  grep -q "^\.Sh $section" "$man_page" || { echo "check-install: the man page has no $section section" >&2; exit 1; }
done
for command in init doctor report run; do
  grep -q "^\.It Em $command" "$man_page" || { echo "check-install: the man page does not describe ingest $command" >&2; exit 1; }
done
if command -v man >/dev/null; then
  MANWIDTH=100 man -l "$man_page" 2>/dev/null | grep -q "ingest doctor" || { echo "check-install: man cannot render the page" >&2; exit 1; }
fi

bash -n "$prefix/share/bash-completion/completions/ingest"
if command -v zsh >/dev/null; then zsh -n "$prefix/share/zsh/site-functions/_ingest"; fi
if command -v fish >/dev/null; then fish --no-execute "$prefix/share/fish/vendor_completions.d/ingest.fish"; fi

# Pipeline names complete from pipelines/ in the current folder, through the installed binary.
mkdir -p "$project/pipelines"
echo '{"stages": [{"kind": "source.directory", "with": {"path": "inbox"}}]}' > "$project/pipelines/photos.json"
echo '{"stages": [{"kind": "source.directory", "with": {"path": "inbox"}}]}' > "$project/pipelines/pets.json"
got=$(cd "$project" && PATH="$prefix/bin:$PATH" bash -c '
  source "$1"
  COMP_WORDS=(ingest doctor p); COMP_CWORD=2; COMP_LINE="ingest doctor p"; COMP_POINT=${#COMP_LINE}
  _ingest; printf "%s " "${COMPREPLY[@]}"' _ "$prefix/share/bash-completion/completions/ingest")
[ "$got" = "pets photos " ] || { echo "check-install: bash completed 'ingest doctor p' as '$got'" >&2; exit 1; }
echo "check-install: binary, man page and completions installed and working"
