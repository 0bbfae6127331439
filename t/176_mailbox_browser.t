# A revealed mailbox message in a real browser (headless Chromium at a
# phone's viewport, t/browser/mailbox_check.py on the CDP driver of
# t/browser/watermark_check.py): the confirmation step shows no body; a tap
# on Reveal (a POST) shows it with the viewer's watermark over the whole
# viewport and with no-store headers; after navigating away and going back
# the body is not shown (neither the back/forward cache nor the HTTP cache
# kept it), and reloading there asks the server, which answers that the
# read-once message was already read.  Then the lost phone: the site's
# localStorage survives requests of the live session; once an operator has
# wiped the mailbox (which ends the member's sessions), the phone's next
# request lands on the login page with Clear-Site-Data and the storage is
# gone.
#
# Runs only with QIWEI_BROWSER_TEST=1 (Debian packages chromium,
# python3-websocket, fonts-noto-cjk); then a missing browser is a failure,
# not a skip.  The screenshot goes to $QIWEI_ARTEFACTS (default: artefacts/
# of the repository).
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use Encode qw(encode_utf8);
use JSON::PP ();
use QiweiTest;
use QiweiBrowser;

browser_gate();
my $checker = browser_script('mailbox_check.py');
my $python = browser_python();
browser_tools_ok(websocket => 1);
my $artefacts = browser_artefacts();

ua_reset();
my $u = uniq();
my $E = 't176';
my $H = "/$E/qiwei";
seed_enterprise($E, '信箱测试');
my $name = "王小明 Wang $u";
my $acct = "mb$u";
my $pw = activate_member($E, $acct, name => $name);
my $eid = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");

my $marker = "ONCE-BODY-$u";
my $out = qctl_ok(['mailbox', 'send', $E, '--title',
                   encode_utf8("机密通知 $u"), '--rule', 'read_once',
                   '--member', $acct],
                  encode_utf8("$marker\n会议改到明天上午十点。\n"
                              . "The meeting moves to 10:00."));
my ($id) = $out =~ /\bmessage (\d+) sent\b/;
ok $id, 'a read-once message sent';

my ($lr, $s) = login($H, $acct, $pw);
is $lr->code, 303, 'login';

my $base = browser_base();
my @cmd = ($python, $checker, "$base$H/mailbox/$id",
           '--cookie', "qiwei_session=$s;/",
           '--expect-name', encode_utf8($name),
           '--body-marker', $marker, '--away', "$base$H/mailbox",
           '--gone-status', 410, '--gone-text', 'Already read',
           '--screenshot', "$artefacts/mailbox-revealed.png",
           '--wipe-cmd', JSON::PP->new->encode(
               [$ENV{QIWEI_CTL}, 'mailbox', 'wipe', $E, $acct, '--yes']));
tap_checker(\@cmd, name => 'browser', min => 20);
ok -s "$artefacts/mailbox-revealed.png", 'screenshot kept';

# --- the list and a confirmation step: accessible on a phone -------------
# (t/browser/a11y_check.py with the vendored axe-core of t/161; a kept
# message, since the confirmation step changes nothing)
{
    my $acct2 = "ax$u";
    my $pw2 = activate_member($E, $acct2, name => "李雷 Li $u");
    my ($o2) = qctl_ok(['mailbox', 'send', $E, '--title',
                        encode_utf8("季度安排 Plans $u"), '--rule', 'kept',
                        '--member', $acct2], "KEPT-$u") =~ /message (\d+)/;
    my (undef, $s2) = login($H, $acct2, $pw2);
    for my $page (['list', "$H/mailbox"], ['message', "$H/mailbox/$o2"]) {
        for my $lang ('zh-CN', 'en') {
            my $case = "a11y $page->[0] $lang";
            my ($r, $res, $rc) = a11y_run(
                url => "$base$page->[1]", cookie => "qiwei_session=$s2;/",
                width => 390, height => 844, lang => $lang, screenshot =>
                "$artefacts/a11y-mailbox-$page->[0]-390x844-$lang.png",
                full_page => 1);
            is $rc, 0, "$case: the browser was driven";
            is $r->{title} // '', $lang eq 'en' ? 'Mailbox' : '私密信箱',
                "$case: the document title";
            ok defined $r->{axe_version}, "$case: axe-core ran" or diag $res;
            my @bad = grep { ($_->{impact} // '') =~ /^(serious|critical)$/ }
                      @{ $r->{violations} || [] };
            is scalar(@bad), 0, "$case: no serious or critical axe violation"
                or diag explain \@bad;
            is $r->{tab_reached} // -1, $r->{controls} // 0,
                "$case: Tab reaches every control";
            ok $r->{focus_visible}, "$case: the focus is visible";
            is_deeply $r->{unlabelled} // [undef], [],
                "$case: every control has a name";
            ok defined $r->{scroll_width}
               && $r->{scroll_width} <= $r->{inner_width},
               "$case: no sideways scrolling";
        }
    }
}

is sql("SELECT state || ',' || (body_enc IS NULL)::text FROM mailbox_copies"
     . " WHERE enterprise_id = $eid AND message_id = $id"),
   'destroyed,true', 'the copy was destroyed when it was revealed';

done_testing();
