# The watermark in a real browser (issue 4): headless Chromium renders
# watermarked pages at a phone-sized viewport; t/browser/watermark_check.py
# asserts from the rendered DOM and pixels that the overlay covers the
# viewport, lets taps through, shows the viewer's name and prints.
#
# Runs only with QIWEI_BROWSER_TEST=1 (Debian packages chromium,
# python3-websocket, fonts-noto-cjk); then a missing browser is a failure,
# not a skip.  Screenshots go to $QIWEI_ARTEFACTS (default: artefacts/ of the
# repository).
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use Apache::TestRequest ();
use Encode qw(encode_utf8 decode_utf8);
use File::Path qw(make_path);
use QiweiTest;

plan skip_all => 'set QIWEI_BROWSER_TEST=1 to run the browser check'
    unless ($ENV{QIWEI_BROWSER_TEST} // '') eq '1';

my $checker = "$FindBin::Bin/browser/watermark_check.py";
# Debian's interpreter (python3-websocket is installed for it), not one that
# a version manager may have put first in PATH.
my $python = $ENV{QIWEI_PYTHON} // (-x '/usr/bin/python3' ? '/usr/bin/python3'
                                                           : 'python3');
my ($chromium) = grep { -x } map { "$_/chromium" } split /:/, $ENV{PATH};
ok defined $chromium, 'chromium is installed (Debian package chromium)'
    or diag 'apt-get install chromium python3-websocket fonts-noto-cjk';
ok system($python, '-c', 'import websocket') == 0,
    'python3-websocket is installed';

my $artefacts = $ENV{QIWEI_ARTEFACTS};
if (!$artefacts) {
    my $scripts = $ENV{QIWEI_TEST_SCRIPTS} // '';
    $artefacts = $scripts =~ m{^(.*)/scripts/?$} ? "$1/artefacts"
                                                 : "$FindBin::Bin/logs";
}
make_path($artefacts);

ua_reset();
my $H = '/t80/qiwei';
my $name = '王小明 Wang Xiaoming';
my $acct = 'browser' . uniq();
seed_enterprise('t80', '水印测试');
my $pw = activate_member('t80', $acct, name => $name);
my ($lr, $s) = login($H, $acct, $pw);
is $lr->code, 303, 'login';

my $base = 'http://127.0.0.1:' . Apache::Test::vars('port');

sub browser_check {
    my ($case, $path, $shot) = @_;
    my @cmd = ($python, $checker, "$base$path",
               '--cookie', "qiwei_session=$s",
               '--expect-name', $name, '--link', '#tap',
               '--screenshot', "$artefacts/$shot.png",
               '--pdf', "$artefacts/$shot.pdf");
    open my $fh, '-|', @cmd or die "$checker: $!\n";
    my ($n, $fail) = (0, 0);
    while (my $line = <$fh>) {
        $line = decode_utf8($line);
        chomp $line;
        if ($line =~ /^(not )?ok - (.*)$/) {
            $n++;
            ok !$1, "$case: $2";
        }
        elsif ($line =~ /^# ?(.*)$/) {
            note "$case: $1";
        }
    }
    close $fh;
    my $rc = $? >> 8;
    is $rc, 0, "$case: the checker exits 0";
    cmp_ok $n, '>=', 25, "$case: the checker ran all its checks ($n)";
    ok -s "$artefacts/$shot.png", "$case: screenshot kept in $shot.png";
}

browser_check('light page', '/t80/static/page.html', 'watermark-mobile');
browser_check('dark page', '/t80/static/dark.html', 'watermark-mobile-dark');
browser_check('strict CSP', '/t80/cgi/wm_page.cgi?mode=csp-strict',
              'watermark-mobile-csp');
browser_check('CSP with nonce', '/t80/cgi/wm_page.cgi?mode=csp-nonce',
              'watermark-mobile-csp-nonce');

done_testing();
