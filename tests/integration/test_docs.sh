#!/usr/bin/env bash
# The docs stay true to the repository:
#  (a) the close-code table of docs/protocol.md lists exactly the codes of
#      proto/close_codes.h (both enums: close codes and HTTP refusals);
#  (b) nothing tracked points outside the repository (notes that only some
#      machines have);
#  (c) no generated file is tracked.
set -euo pipefail
cd "$(dirname "$0")/../.."
self=tests/integration/test_docs.sh
fail=0

# (a) close codes
header=proto/close_codes.h
doc=docs/protocol.md
code_set=$(grep -oE '=[[:space:]]*[0-9]+[[:space:]]*,' "$header" | tr -dc '0-9\n' | sort -un)
table=$(sed -n '/<!-- close-codes:begin -->/,/<!-- close-codes:end -->/p' "$doc")
if [ -z "$table" ]; then
    echo "$doc: no table between <!-- close-codes:begin --> and <!-- close-codes:end -->"
    exit 1
fi
doc_set=$(echo "$table" | grep -oE '^\|[[:space:]]*`[0-9]+`' | tr -dc '0-9\n' | sort -un)
doc_rows=$(echo "$table" | grep -cE '^\|[[:space:]]*`[0-9]+`' || true)
if [ -z "$code_set" ]; then
    echo "$header: no '= NNNN,' values found"
    exit 1
fi
if [ "$code_set" != "$doc_set" ]; then
    echo "close codes differ between $header and the table in $doc:"
    only_code=$(comm -23 <(echo "$code_set") <(echo "$doc_set") | tr '\n' ' ')
    only_doc=$(comm -13 <(echo "$code_set") <(echo "$doc_set") | tr '\n' ' ')
    [ -n "$only_code" ] && echo "  only in $header: $only_code"
    [ -n "$only_doc" ] && echo "  only in $doc: $only_doc"
    fail=1
elif [ "$doc_rows" -ne "$(echo "$doc_set" | wc -l)" ]; then
    echo "$doc: a close code has more than one row in the table"
    fail=1
fi
ncodes=$(echo "$code_set" | wc -l)

# (b) references to files outside the repository
pattern='\.\./shared|design\.md|phoenix-protocol\.md|style\.md'
refs=$(git ls-files -z | grep -zv -x -F "$self" | xargs -0 grep -nE "$pattern" -- 2>/dev/null || true)
if [ -n "$refs" ]; then
    echo "tracked files point outside the repository (../shared, design.md, phoenix-protocol.md, style.md):"
    echo "$refs" | sed 's/^/  /'
    fail=1
fi
# docs/ must be clean even before its files are tracked.
if [ -d docs ]; then
    drefs=$(grep -rnE "$pattern" docs || true)
    if [ -n "$drefs" ]; then
        echo "docs/ points outside the repository:"
        echo "$drefs" | sed 's/^/  /'
        fail=1
    fi
fi

# (c) generated files
gen=$(git ls-files | grep -E '(^|/)__pycache__/|\.pyc$|\.o$|\.d$' || true)
if [ -n "$gen" ]; then
    echo "generated files are tracked (git rm --cached them):"
    echo "$gen" | sed 's/^/  /'
    fail=1
fi

[ $fail -eq 0 ] || exit 1
echo "docs: $ncodes close codes in sync, no outside references, no generated files tracked"
