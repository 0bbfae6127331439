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
use QiweiTest;
use QiweiBrowser;

browser_gate();
my $checker = browser_script('watermark_check.py');
my $python = browser_python();
browser_tools_ok(websocket => 1);
my $artefacts = browser_artefacts();

ua_reset();
my $H = '/t80/qiwei';
my $name = '王小明 Wang Xiaoming';
my $acct = 'browser' . uniq();
seed_enterprise('t80', '水印测试');
my $pw = activate_member('t80', $acct, name => $name);
my ($lr, $s) = login($H, $acct, $pw);
is $lr->code, 303, 'login';

my $base = browser_base();

sub browser_check {
    my ($case, $path, $shot) = @_;
    my @cmd = ($python, $checker, "$base$path",
               '--cookie', "qiwei_session=$s",
               '--expect-name', $name, '--link', '#tap',
               '--screenshot', "$artefacts/$shot.png",
               '--pdf', "$artefacts/$shot.pdf");
    tap_checker(\@cmd, name => $case, case => $case, min => 25);
    ok -s "$artefacts/$shot.png", "$case: screenshot kept in $shot.png";
}

browser_check('light page', '/t80/static/page.html', 'watermark-mobile');
browser_check('dark page', '/t80/static/dark.html', 'watermark-mobile-dark');
browser_check('strict CSP', '/t80/cgi/wm_page.cgi?mode=csp-strict',
              'watermark-mobile-csp');
browser_check('CSP with nonce', '/t80/cgi/wm_page.cgi?mode=csp-nonce',
              'watermark-mobile-csp-nonce');

done_testing();
