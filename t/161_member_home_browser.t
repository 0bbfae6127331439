# The login page and the member home in a real browser (issue 15):
# headless Chromium at a phone (390x844) and a desktop (1280x800) size, in
# zh-CN and en; axe-core (vendored for this test only, its SHA-256 sums
# checked here and again by the driver) must find no serious or critical
# violation; Tab reaches every control, each with a visible focus ring,
# and every control has a name; nothing scrolls sideways; the response's
# CSP allows no script.  Screenshots go to $QIWEI_ARTEFACTS (default:
# artefacts/ of the repository): a11y-<page>-<w>x<h>-<lang>.png.
#
# Runs only with QIWEI_BROWSER_TEST=1 (Debian packages chromium,
# python3-websocket, fonts-noto-cjk); then a missing browser is a failure,
# not a skip.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use QiweiTest;
use QiweiBrowser;

browser_gate();
browser_tools_ok(websocket => 1);
# --- the vendored axe-core is what its checksums say ----------------------
axe_sums_ok();
my $artefacts = browser_artefacts();

# --- an enterprise with something on every part of the page ---------------
ua_reset();
my $u = uniq();
my $E = 't161';
my $H = "/$E/qiwei";
seed_enterprise($E, '示例科技 Example Tech');
seed_department($E, 'eng', '研发部 Engineering');
sql("UPDATE members m SET status = 'departed' FROM enterprises e"
  . " WHERE e.enterprise_id = m.enterprise_id AND e.code = '$E'"
  . " AND m.account NOT LIKE '%$u'");
my $acct = "li$u";
my $pw = activate_member($E, $acct, depts => 'eng', name => '李雷 Li Lei',
                         mobile => '13800000001');
activate_member($E, "hm$u", depts => 'eng', name => '韩梅梅 Han Meimei',
                mobile => '13800000002');
activate_member($E, "x$u", depts => 'eng',
                name => q{<img src=x onerror=alert(1)> "Evil" & 'Co'});
qctl_ok(['article', 'add', $E, 'news', "/$E/news/$u-1.html", '--title',
         '季度通报 Quarterly update', '--owner', $acct, '--all']);
qctl_ok(['article', 'add', $E, 'news', "/$E/news/$u-2.html", '--title',
         q{<script>alert(1)</script> hostile title}, '--owner', $acct,
         '--all']);
my (undef, $s) = login($H, $acct, $pw);
ok $s, 'logged in';
(undef, my $s_other) = login($H, $acct, $pw);    # a second session listed

my $base = browser_base();

sub check_page {
    my ($page, $path, $cookie, $size, $lang, $title) = @_;
    my $case = "$page $size->[0]x$size->[1] $lang";
    my $shot = "$artefacts/a11y-$page-$size->[0]x$size->[1]-$lang.png";
    my ($r, $out, $rc) = a11y_run(
        url => "$base$path", width => $size->[0], height => $size->[1],
        lang => $lang, screenshot => $shot, full_page => 1,
        cookie => $cookie ? "qiwei_session=$cookie;/" : undef);
    is $rc, 0, "$case: the browser was driven";
    is $r->{title} // '', $title, "$case: the page's title";
    is $r->{lang} // '', $lang, "$case: <html lang>";
    like $r->{csp} // '', qr/frame-ancestors 'none'/,
        "$case: CSP frame-ancestors 'none'";
    ok defined $r->{csp} && ($r->{csp} !~ /script-src/
                             || $r->{csp} =~ /script-src 'self'(;|$)/),
        "$case: CSP allows no script but 'self'";
    ok defined $r->{axe_version}, "$case: axe-core ran (" . ($r->{axe_version} // 'no version') . ")"
        or diag $out;
    my @bad = grep { ($_->{impact} // '') =~ /^(serious|critical)$/ }
              @{ $r->{violations} || [] };
    is scalar(@bad), 0, "$case: no serious or critical axe violation"
        or diag explain \@bad;
    note "$case: minor/moderate: " . join(', ', map { $_->{id} }
        grep { ($_->{impact} // '') !~ /^(serious|critical)$/ }
        @{ $r->{violations} || [] });
    cmp_ok $r->{controls} // 0, '>', 0, "$case: it has controls";
    is $r->{tab_reached} // -1, $r->{controls} // 0,
        "$case: Tab reaches every control (" . ($r->{controls} // 0) . ")";
    ok $r->{focus_visible}, "$case: each shows where the focus is";
    is_deeply $r->{unlabelled} // [undef], [],
        "$case: every control has a name";
    ok defined $r->{scroll_width}
       && $r->{scroll_width} <= $r->{inner_width},
       "$case: no sideways scrolling";
    ok -s $shot, "$case: screenshot kept";
    return $r;
}

for my $size ([390, 844], [1280, 800]) {
    for my $lang ('zh-CN', 'en') {
        my $zh = $lang eq 'zh-CN';
        check_page('login', "$H/login", undef, $size, $lang,
                   $zh ? '登录' : 'Sign in');
        check_page('home', "$H/home", $s, $size, $lang,
                   $zh ? '首页' : 'Home');
    }
}
# the two-step pages linked from the home page: enrolment, then (with
# two-step on) the home page's other state and the turn-off form
check_page('twostep-setup', "$H/twostep-setup", $s, [390, 844], 'en',
           'Two-step verification');
{
    my $pg = http_get("$H/twostep-setup", cookie => "qiwei_session=$s",
                      html => 1);
    my ($secret) = $pg->content =~ m{<code id="secret">([A-Z2-7]+)</code>};
    my $r = http_post("$H/twostep-setup",
        [csrf => form_field($pg->content, 'csrf'),
         # the current step's code: accepted even if the next step
         # begins before the server checks it (the window is one step)
         code => totp_code($secret // '', time)],
        cookie => "qiwei_session=$s", html => 1);
    is $r->code, 200, 'two-step on';
    my $s2 = session_of($r);
    check_page('home-twostep-on', "$H/home", $s2, [390, 844], 'en', 'Home');
    for my $lang ('en', 'zh-CN') {
        check_page('twostep-off', "$H/twostep-off", $s2, [390, 844], $lang,
                   $lang eq 'en' ? 'Turn off two-step verification'
                                 : '关闭两步验证');
    }
}

done_testing();
