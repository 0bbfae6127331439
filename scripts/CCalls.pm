# The calls of a C source that the check scripts read (check-json.sh,
# check-log-tags.sh): comments blanked out (line numbers kept), string
# literals skipped while the parentheses are matched.
package CCalls;
use strict;
use warnings;
use Exporter 'import';
our @EXPORT = qw(c_calls);

# c_calls(FILE, QR): for each call whose name and "(" QR matches, in order,
# [line, argument text up to the matching ")", file].
sub c_calls {
    my ($f, $fn) = @_;
    local $/;
    open my $h, '<', $f or die "$f: $!\n";
    my $s = <$h>;
    close $h;
    $s =~ s{/\*.*?\*/}{ (my $c = $&) =~ s/[^\n]//g; $c }gse;
    my @calls;
    while ($s =~ /$fn/g) {
        my $start = pos($s);
        my ($depth, $i) = (1, $start);
        while ($depth > 0 && $i < length $s) {
            my $c = substr($s, $i, 1);
            if ($c eq q{"}) {
                $i++;
                while ($i < length $s && substr($s, $i, 1) ne q{"}) {
                    $i++ if substr($s, $i, 1) eq "\\";
                    $i++;
                }
            } elsif ($c eq '(') {
                $depth++;
            } elsif ($c eq ')') {
                $depth--;
            }
            $i++;
        }
        push @calls, [1 + (substr($s, 0, $start) =~ tr/\n//),
                      substr($s, $start, $i - $start), $f];
    }
    return @calls;
}

1;
