#!/usr/bin/env bash
# The baseline of the end-to-end benchmark: the script a user would write instead of ingest for the same job.
#
#   baseline-e2e.sh INBOX WORKDIR BASE_URL
#
# Copies the inbox (exiftool edits in place; the sources must stay untouched), detects MIME types with one file(1)
# process, strips metadata keeping orientation and the ICC profile with one exiftool process, then for each file
# accepted by type and size (the Wix image limit) asks the Wix API for an upload URL and PUTs the file with curl —
# one after another, or JOBS at once (xargs -P).
set -uo pipefail
in=$1 work=$2 base=$3
key=${WIX_API_KEY:-emulator-api-key} site=${WIX_SITE_ID:-emulator-site-id}

rm -rf "$work" && cp -r "$in" "$work"

declare -A mime
while IFS= read -r line; do
    mime[${line%%: *}]=${line##*: }
done < <(file --mime-type -- "$work"/*)

exiftool -q -q -all= -tagsfromfile @ -orientation -icc_profile -overwrite_original "$work" || true

# One file: ask for an upload URL, PUT the bytes ($1 = MIME type, $2 = path).
upload_one() {
    local type=$1 f=$2 name=${2##*/} size response
    size=$(stat -c %s "$f")
    response=$(curl -sf -X POST "$BASE/site-media/v1/files/generate-upload-url" \
        -H "Authorization: $KEY" -H "wix-site-id: $SITE" -H 'Content-Type: application/json' \
        -d "{\"mimeType\": \"$type\", \"fileName\": \"$name\", \"sizeInBytes\": \"$size\"}")
    if [[ $response =~ \"uploadUrl\"\ *:\ *\"([^\"]+)\" ]]; then
        curl -sf -X PUT "${BASH_REMATCH[1]}?filename=$name" -H "Content-Type: $type" -H "Expect:" -T "$f" -o /dev/null || echo "upload failed: $f" >&2
    else
        echo "no upload URL for $f" >&2
    fi
}
export -f upload_one
export BASE=$base KEY=$key SITE=$site

# The files accepted by type and size, as "type<TAB>path" lines.
accepted() {
    for f in "$work"/*; do
        type=${mime[$f]:-}
        case $type in
            image/jpeg | image/png | image/webp | image/gif) ;;
            *) echo "skipped $f: $type" >&2; continue ;;
        esac
        if [ "$(stat -c %s "$f")" -gt 26214400 ]; then echo "skipped $f: too large" >&2; continue; fi
        printf '%s\t%s\n' "$type" "$f"
    done
}

# JOBS=N: N uploads at once (xargs -P), as a careful script writer would; default one after another.
accepted | xargs -d '\n' -P "${JOBS:-1}" -I{} bash -c 'IFS=$(printf "\t") read -r type path <<< "$1"; upload_one "$type" "$path"' _ {}
