# The shared setup of mod_qiwei's browser tests: headless Chromium driven
# over DevTools by the python drivers of t/browser/.  The gate
# (QIWEI_BROWSER_TEST=1; then a missing browser is a failure, not a skip),
# the interpreter, the tools, the artefacts directory, the vendored
# axe-core's checksums, and running a driver and collecting its results:
#
#   browser_gate()            plan skip_all unless QIWEI_BROWSER_TEST=1
#   browser_tools_ok(websocket => 1)
#                             1 test (chromium), 2 with the websocket module
#   browser_python()          Debian's python3 (or $QIWEI_PYTHON)
#   browser_script($name)     t/browser/$name
#   browser_artefacts()       $QIWEI_ARTEFACTS, else artefacts/ of the
#                             repository, else t/logs; made if missing
#   browser_base()            http://127.0.0.1:<Apache::Test port>
#   axe_sums_ok()             5 tests: the vendored axe-core's SHA256SUMS
#                             and licence
#   drive(%script)            4 tests: one console_check.py script, its
#                             results
#   axe_clean($v, $case)      2 tests: axe-core ran, nothing serious
#   a11y_run(%o)              a11y_check.py on one page: (report, raw
#                             text, exit code)
#   tap_checker(\@cmd, %o)    relays a TAP-printing checker: one test per
#                             check, then 2 (exit code, check count)
package QiweiBrowser;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use FindBin ();
use Digest::SHA ();
use Encode qw(decode_utf8);
use File::Path qw(make_path);
use IPC::Open2 qw(open2);
use JSON::PP ();
use Test::More ();
use Apache::Test ();

our @EXPORT = qw(
    browser_gate browser_tools_ok browser_python browser_script
    browser_artefacts browser_base axe_sums_ok drive axe_clean a11y_run
    tap_checker
);

sub browser_gate {
    Test::More::plan(skip_all => 'set QIWEI_BROWSER_TEST=1 to run the browser check')
        unless ($ENV{QIWEI_BROWSER_TEST} // '') eq '1';
}

# Debian's interpreter (python3-websocket is installed for it), not one that
# a version manager may have put first in PATH.
sub browser_python {
    return $ENV{QIWEI_PYTHON} // (-x '/usr/bin/python3' ? '/usr/bin/python3'
                                                        : 'python3');
}

sub browser_script { "$FindBin::Bin/browser/$_[0]" }

sub browser_tools_ok {
    my (%o) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my ($chromium) = grep { -x } map { "$_/chromium" } split /:/, $ENV{PATH};
    Test::More::ok(defined $chromium,
                   'chromium is installed (Debian package chromium)')
        or Test::More::diag(
            'apt-get install chromium python3-websocket fonts-noto-cjk');
    Test::More::ok(system(browser_python(), '-c', 'import websocket') == 0,
                   'python3-websocket is installed')
        if $o{websocket};
    return $chromium;
}

my $artefacts;
sub browser_artefacts {
    return $artefacts if defined $artefacts;
    $artefacts = $ENV{QIWEI_ARTEFACTS};
    if (!$artefacts) {
        my $scripts = $ENV{QIWEI_TEST_SCRIPTS} // '';
        $artefacts = $scripts =~ m{^(.*)/scripts/?$} ? "$1/artefacts"
                                                     : "$FindBin::Bin/logs";
    }
    make_path($artefacts);
    return $artefacts;
}

sub browser_base { 'http://127.0.0.1:' . Apache::Test::vars('port') }

# The vendored axe-core is what its checksums say (the drivers check them
# again before they inject it).
sub axe_sums_ok {
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $axe = "$FindBin::Bin/browser/vendor/axe-core-4.14.1";
    open my $fh, '<', "$axe/SHA256SUMS" or die "$axe/SHA256SUMS: $!\n";
    my %want = map { my ($h, $n) = split ' ', $_; ($n => $h) } grep /\S/, <$fh>;
    close $fh;
    for my $f ('axe.min.js', 'LICENSE', 'LICENSE-3RD-PARTY.txt',
               'package.json') {
        my $got = Digest::SHA->new(256)->addfile("$axe/$f")->hexdigest;
        Test::More::is($got, $want{$f} // 'missing',
                       "vendored axe-core: $f matches SHA256SUMS");
    }
    open my $lic, '<', "$axe/LICENSE" or die "$axe/LICENSE: $!\n";
    Test::More::like(scalar(do { local $/; <$lic> }),
                     qr/Mozilla Public License, version 2\.0/,
                     '... its licence is MPL-2.0');
}

# Run one script of steps (t/browser/console_check.py) in a fresh browser;
# returns its results.
sub drive {
    my (%script) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $json = JSON::PP->new->utf8->canonical;
    $script{base} = browser_base();
    $script{shots} = browser_artefacts();
    my $pid = open2(my $out, my $in, browser_python(),
                    browser_script('console_check.py'));
    print $in $json->encode(\%script);
    close $in;
    my $text = do { local $/; <$out> } // '';
    waitpid $pid, 0;
    Test::More::is($? >> 8, 0, 'the browser was driven')
        or Test::More::diag($text);
    my $r = eval { $json->decode($text) } || {};
    Test::More::ok($r->{ok}, 'every step ran')
        or Test::More::diag("step " . ($r->{step} // '?') . ": "
                            . ($r->{error} // $text) . "\n"
                            . ($r->{results}{html_at_failure} // ''));
    Test::More::is_deeply($r->{dialogs} // [undef], [],
                          'no alert or dialog opened');
    Test::More::is_deeply($r->{exceptions} // [undef], [], 'no script error');
    return $r->{results} || {};
}

# The violations axe-core reported: none serious or critical (the others
# are noted).
sub axe_clean {
    my ($v, $case) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    Test::More::ok(ref $v eq 'ARRAY', "$case: axe-core ran");
    my @all = @{ ref $v eq 'ARRAY' ? $v : [] };
    my @bad = grep { ($_->{impact} // '') =~ /^(serious|critical)$/ } @all;
    Test::More::is(scalar(@bad), 0,
                   "$case: no serious or critical axe violation")
        or Test::More::diag(Test::More::explain(\@bad));
    Test::More::note("$case: minor/moderate: " . join(', ', map { $_->{id} }
        grep { ($_->{impact} // '') !~ /^(serious|critical)$/ } @all));
}

# t/browser/a11y_check.py on one page: url, width, height, lang,
# screenshot, and optionally cookie ("name=value;path"), full_page, wait
# (CSS: a page that draws itself is looked at once it matches).
# Returns (the decoded report or {}, the raw output, its exit code).
sub a11y_run {
    my (%o) = @_;
    my $checker = browser_script('a11y_check.py');
    my @cmd = (browser_python(), $checker, $o{url}, '--width', $o{width},
               '--height', $o{height});
    push @cmd, '--lang', $o{lang} if defined $o{lang};
    push @cmd, '--cookie', $o{cookie} if defined $o{cookie};
    push @cmd, '--screenshot', $o{screenshot} if defined $o{screenshot};
    push @cmd, '--full-page' if $o{full_page};
    push @cmd, '--wait', $o{wait} if defined $o{wait};
    open my $fh, '-|', @cmd or die "$checker: $!\n";
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    my $rc = $? >> 8;
    return (eval { JSON::PP->new->decode($out) } || {}, $out, $rc);
}

# Run a checker that prints TAP ("ok - x", "not ok - x", "# note") and
# relay each check as a test named "$o{name}: x" (the diagnostics after a
# failed check shown, the rest noted); then its exit code is 0 and it ran
# at least $o{min} checks.  $o{case}, if given, prefixes those two.
sub tap_checker {
    my ($cmd, %o) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $pre = defined $o{case} ? "$o{case}: " : '';
    open my $fh, '-|', @$cmd or die "$cmd->[1]: $!\n";
    my ($n, $failed) = (0, 0);
    while (my $line = <$fh>) {
        $line = decode_utf8($line);
        chomp $line;
        if ($line =~ /^(not )?ok - (.*)$/) {
            $n++;
            $failed = !!$1;
            Test::More::ok(!$1, "$o{name}: $2");
        }
        elsif ($line =~ /^# ?(.*)$/) {
            $failed ? Test::More::diag("$o{name}: $1")
                    : Test::More::note("$o{name}: $1");
        }
    }
    close $fh;
    Test::More::is($? >> 8, 0, "${pre}the checker exits 0");
    Test::More::cmp_ok($n, '>=', $o{min},
                       "${pre}the checker ran all its checks ($n)");
    return $n;
}

1;
