# External share links: valid, tampered, for another article, expired,
# revoked by the toggle and by "revoke", the enterprise's master switch;
# never cacheable, no referrer, logged (time, address, user agent, link),
# watermarked "external <link id>"; without a link outsiders get the login.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(decode_utf8);
use QiweiTest;

ua_reset();

my $H = '/t71/qiwei';
my $u = uniq();
seed_enterprise('t71', '分享测试');
seed_department('t71', 'eng', '研发部');
my $owner = "owner$u";
my $opw = activate_member('t71', $owner, depts => 'eng');
my $eng = "eng$u";
my $epw = activate_member('t71', $eng, depts => 'eng');
my (undef, $es) = login($H, $eng, $epw);
ok $es, 'member logs in';
qctl_ok(['enterprise', 'set-sharing', 't71', 'on']);

my $A = "/t71/news/a-$u.html";
my $B = "/t71/news/b-$u.html";
for my $p ($A, $B) {
    qctl_ok(['article', 'add', 't71', 'news', $p, '--title', "分享 $p",
             '--owner', $owner, '--dept', 'eng']);
}

sub anon { http_get($_[0], html => 1, lang => $_[1] // 'zh-CN') }

sub served {
    my ($url, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $r = anon($url);
    ok $r->code == 200 && $r->content =~ /${\ SECRET}/, "$name: 200"
        or diag 'got ' . $r->code;
    return $r;
}

sub refused {
    my ($url, $code, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $r = anon($url);
    is $r->code, $code, "$name: $code";
    unlike $r->content, qr/${\ SECRET}/, "$name: no content";
    return $r;
}

# without a link, an outsider gets the login page
refused_as_anonymous($A, undef, 'forwarded link without share',
                     '/t71/qiwei/login');

# sharing off for the article: no link can be made
my ($rc, $o, $e) = qctl(['article', 'link', 't71', 'news', $A]);
isnt $rc, 0, 'no link while sharing is off';
like $e, qr/sharing is off/, '... says why';

qctl_ok(['article', 'share', 't71', 'news', $A, 'on']);
my ($link, $id) = share_link('t71', 'news', $A);
like $link, qr/^\Q$A\E\?qs=[A-Za-z0-9_-]{98}$/, 'link has the article path';

# --- valid ---------------------------------------------------------------
{
    my $r = served($link, 'valid link');
    like $r->header('Cache-Control') // '', qr/\bprivate\b/,
        '... Cache-Control private';
    like $r->header('Cache-Control') // '', qr/\bno-store\b/,
        '... and no-store';
    is $r->header('Referrer-Policy'), 'no-referrer', '... no referrer';
    like $r->content, qr/\Q${\ wm_marker()}\E/, '... watermarked';
    like $r->content, qr/external%20\Q$id\E/,
        '... with "external" and the link id';
    my @logged = psql_query("SELECT source_ip, user_agent, details->>'link'"
        . " FROM audit_log l JOIN enterprises e USING (enterprise_id) WHERE"
        . " e.code = 't71' AND l.action = 'read' AND l.actor = "
        . "'external:$id' AND l.module = 'news'");
    is scalar(@logged), 1, 'the external view is logged';
    my ($ip, $ua, $lid) = split /\t/, $logged[0] // '';
    like $ip // '', qr/^(127\.0\.0\.1|::1)$/, '... with the address';
    ok length($ua // ''), '... the user agent';
    is $lid, $id, '... and the link';
    served($link, 'valid link again');
    is scalar(psql_query("SELECT 1 FROM audit_log WHERE action = 'read' "
                         . "AND actor = 'external:$id'")), 2,
        'every external view is logged';
    # a member in the audience reads it as a member (watermark with name)
    my $m = http_get($link, cookie => "qiwei_session=$es", html => 1);
    is $m->code, 200, 'member with the link: 200';
    unlike $m->content, qr/external%20/, '... watermarked as the member';
}

# --- the link opens that article and nothing else -------------------------
{
    (my $other = $link) =~ s/^\Q$A\E/$B/;
    refused($other, 403, 'link of A on article B');
    my ($q) = $link =~ /qs=(.*)$/;
    refused("/t71/news/none-$u.html?qs=$q", 403, 'link on a missing path');
}

# --- tampered -----------------------------------------------------------------
{
    my ($pre, $q) = $link =~ /^(.*qs=)(.*)$/;
    for my $pos (0, 10, 40, 97) {
        my $t = $q;
        substr($t, $pos, 1) = substr($t, $pos, 1) eq 'A' ? 'B' : 'A';
        my $r = refused("$pre$t", 403, "tampered at $pos");
        like decode_utf8($r->content), qr/没有权限访问本页面/,
            '... the no-permission page';
    }
    refused($pre . substr($q, 0, 97), 403, 'truncated');
    refused("$pre${q}A", 403, 'extended');
    refused("${pre}", 403, 'empty');
}

# --- expired ----------------------------------------------------------------
{
    my ($short) = share_link('t71', 'news', $A, expires => 3);
    served($short, 'short-lived link while fresh');
    sleep 4;
    refused($short, 410, 'expired link');
    served($link, 'the link without expiry still works');
}

# --- revoked by the toggle ------------------------------------------------------
qctl_ok(['article', 'share', 't71', 'news', $A, 'off']);
refused($link, 403, 'sharing switched off');
qctl_ok(['article', 'share', 't71', 'news', $A, 'on']);
refused($link, 403, 'switched on again: the old link stays dead');
my ($link2, $id2) = share_link('t71', 'news', $A);
isnt $id2, $id, 'a new link has a new id';
served($link2, 'new link');

# --- revoke keeps sharing on but kills the links ------------------------------
qctl_ok(['article', 'share', 't71', 'news', $A, 'revoke']);
refused($link2, 403, 'revoked');
my ($link3) = share_link('t71', 'news', $A);
served($link3, 'link made after the revoke');

# --- the enterprise's master switch -------------------------------------------
qctl_ok(['enterprise', 'set-sharing', 't71', 'off']);
refused($link3, 403, 'master switch off');
qctl_ok(['enterprise', 'set-sharing', 't71', 'on']);
refused($link3, 403, 'master switch on again: the old link stays dead');
my ($link4) = share_link('t71', 'news', $A);
served($link4, 'link made after the switch came back on');
# on -> on changes nothing: links live on
qctl_ok(['enterprise', 'set-sharing', 't71', 'on']);
served($link4, 'switch set on again while on: link still works');

# the audit chain holds the share operations and the external reads
like qctl_ok(['audit', 'verify', 't71']), qr/verified/, 'audit chain verifies';

done_testing();
