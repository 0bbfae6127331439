#!/bin/bash
# JSON is built only with jansson: fails when a C source of the module or
# of qiweictl writes JSON through a format or concatenation function
# (apr_psprintf, apr_pstrcat, ap_rprintf, snprintf, printf, ...), i.e. when
# the string literals of one such call contain a JSON key ("name": ) or
# open an object ({"...).  Fixed JSON constants are not built and pass.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck disable=SC2046
found=$(perl -Iscripts -MCCalls -e '
    my $fn = qr/\b(?:apr_psprintf|apr_pvsprintf|apr_pstrcat|apr_snprintf
                  |apr_vsnprintf|ap_rprintf|ap_rvputs|ap_vrprintf
                  |v?s?n?printf|v?fprintf|strcat|strncat)\s*\(/x;
    for my $f (@ARGV) {
        for my $call (c_calls($f, $fn)) {
            my ($line, $args) = @$call;
            my $text = join "", $args =~ /"((?:[^"\\]|\\.)*)"/g;
            next unless $text =~ /\{\s*\\"|\\"[^"\\]*\\"\s*:/;
            print "  $f:$line: $text\n";
        }
    }' $(find mod_qiwei tools -name '*.c' | sort))

if [ -n "$found" ]; then
    echo "check-json: JSON built with a format or concatenation (use jansson:"
    echo "qw_json_text / qw_json_html in mod_qiwei/util/json.h):"
    printf '%s\n' "$found"
    exit 1
fi
echo "json: no JSON built by format in mod_qiwei/ or tools/"
