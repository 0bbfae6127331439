#!/bin/bash
# Result columns are read by name (docs/architecture.md, store/store.h):
# fails when a C source of the module or of qiweictl reads a column of a
# PGresult (PQgetvalue, PQgetisnull, PQgetlength, PQftype) by a number
# written as a literal.  Name the column instead: a COLS(X, L) list next
# to the statement and the enum made from it, or QW_COL_ONLY for a
# statement that selects one column.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck disable=SC2046
found=$(perl -Iscripts -MCCalls -e '
    my $fn = qr/\bPQ(?:getvalue|getisnull|getlength|ftype)\s*\(/;
    for my $f (@ARGV) {
        for my $call (c_calls($f, $fn)) {
            my ($line, $args) = @$call;
            $args =~ s/\)\s*\z//;
            # the arguments at depth 0
            my (@arg, $depth, $cur);
            ($depth, $cur) = (0, "");
            for my $c (split //, $args) {
                $depth++ if $c eq "(";
                $depth-- if $c eq ")";
                if ($c eq "," && $depth == 0) {
                    push @arg, $cur;
                    $cur = "";
                    next;
                }
                $cur .= $c;
            }
            push @arg, $cur;
            my $col = $arg[-1];
            next unless $col =~ /^\s*[-+]?\s*(?:0[xX][0-9a-fA-F]+|\d+)\s*$/;
            $col =~ s/^\s+|\s+$//g;
            print "  $f:$line: column $col\n";
        }
    }' $(find mod_qiwei tools -name '*.c' | sort))

if [ -n "$found" ]; then
    echo "check-columns: result columns read by number (name them: a"
    echo "COLS(X, L) list next to the statement, or QW_COL_ONLY):"
    printf '%s\n' "$found"
    exit 1
fi
echo "columns: every result column in mod_qiwei/ and tools/ read by name"
