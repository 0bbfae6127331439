# The record of share links (sql/018_share_links.sql, issue 15 Articles):
# GET $B/articles/ID/links lists the live links (newest first, never the
# token), DELETE $B/articles/ID/links/LINK_ID revokes one.  Two links (and
# a short-lived one) are made; the list shows them; one is revoked: the
# gate refuses it (403) for an outsider and for a member outside the
# audience, in both article statements (QiweiArticleMissing deny and
# allow), while the other still works; the list shows one; expired links
# are not listed; a link made before schema 18 (no row) keeps working, is
# not listed, 404 on DELETE, and dies with PUT share revoke; a wiki-only
# sub-admin gets 403 (and a refused row); CSRF; the audit rows.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use QiweiTest;

ua_reset();

my $E = 't229';
my $H = '/t229/qiwei';
my $A = "$H/api/v1";
my $u = uniq();
articles_enterprise($E, 'Share links API');
seed_department($E, "eng$u", 'Eng');
seed_department($E, "ops$u", 'Ops');
my $owner = "owner$u";
activate_member($E, $owner, depts => "eng$u");
my $out = "out$u";
my $opw = activate_member($E, $out, depts => "ops$u");
my (undef, $os) = login($H, $out, $opw);
ok $os, 'a member outside the audience logs in';

my ($nr, $nc, $nt) = api_sub_admin($E, $H, "news$u", "office$u", 'news');
is $nr->code, 201, 'news sub-admin logs in';
my ($wr, $wc, $wt) = api_sub_admin($E, $H, "wiki$u", "wikis$u", 'wiki');
is $wr->code, 201, 'wiki sub-admin logs in';
my $eid = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");
my $aid = sql("SELECT admin_id FROM admin_accounts WHERE enterprise_id = $eid"
              . " AND account = 'news$u'");

sub mk {
    my ($path) = @_;
    my ($x, $d) = api('POST', "$A/articles", cookie => $nc, csrf => $nt,
                      json => { module => 'news', path => $path,
                                title => 'T', owner => $owner,
                                audience => { departments => ["eng$u"] } });
    is $x->code, 201, "created $path" or diag $x->content;
    ($x) = api('PUT', "$A/articles/$d->{id}/share", cookie => $nc,
               csrf => $nt, json => { share => 'on' });
    is $x->code, 200, '... sharing on';
    return $d->{id};
}

sub link_of {
    my ($id, %body) = @_;
    my ($x, $d) = api('POST', "$A/articles/$id/links", cookie => $nc,
                      csrf => $nt, json => \%body);
    is $x->code, 201, 'a link' or diag $x->content;
    my ($p) = ($d->{url} // '') =~ m{^https?://[^/]+(/\S+)$};
    return ($p, $d->{link_id}, $d);
}

sub anon { http_get($_[0], html => 1)->code }
sub as_out { http_get($_[0], html => 1, cookie => "qiwei_session=$os")->code }

sub links {
    my ($id, $cookie) = @_;
    my ($x, $d) = api('GET', "$A/articles/$id/links", cookie => $cookie // $nc);
    return ($x, $d);
}

my $P = "/t229/news/a-$u.html";
my $id = mk($P);

my ($short, $s_id) = link_of($id, expires_in => 2);
my ($p1, $l1, $d1) = link_of($id, expires_in => 3600);
my ($p2, $l2) = link_of($id);
like $l1, qr/^[0-9a-f]{16}$/, 'the link id: 16 hex digits';

# --- the list ---------------------------------------------------------------
my ($x, $d) = links($id);
is $x->code, 200, 'GET links: 200' or diag $x->content;
is_deeply [map { $_->{link_id} } @{ $d->{items} }], [$l2, $l1, $s_id],
    '... the three links, newest first';
is_deeply [sort keys %{ $d->{items}[0] }],
    [qw(created_at created_by expires_at link_id)],
    '... link_id, created_at, expires_at, created_by: nothing else';
unlike $x->content, qr/qs=|url/, '... never the token or the URL';
ok !defined $d->{items}[0]{expires_at}, '... no expiry: null';
like $d->{items}[1]{expires_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    '... an expiry: a UTC time';
like $d->{items}[1]{created_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    '... created_at';
my $actor = sql("SELECT actor FROM audit_log WHERE enterprise_id = $eid"
                . " AND action = 'share-link' AND details->>'link' = '$l1'");
like $actor, qr/^admin:\Q$aid\E\b/, 'the share-link row names the admin';
is $d->{items}[1]{created_by}, $actor, '... created_by is that actor';
ok $d->{share_effective}, '... and sharing is in effect';

($x, $d) = links($id, $wc);
is $x->code, 403, 'a wiki-only sub-admin lists: 403';
ok !exists $d->{items}, '... no items';

# --- both work; revoke one ----------------------------------------------------
is anon($p1), 200, 'link 1 works';
is anon($p2), 200, 'link 2 works';

my $refused0 = sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid"
                   . " AND result = 'refused' AND module = 'news'");
($x) = api('DELETE', "$A/articles/$id/links/$l1", cookie => $wc, csrf => $wt);
is $x->code, 403, 'a wiki-only sub-admin revokes: 403';
is sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid"
       . " AND result = 'refused' AND module = 'news'"), $refused0 + 1,
    '... logged refused';
($x) = api('DELETE', "$A/articles/$id/links/$l1", cookie => $nc);
is $x->code, 403, 'no CSRF token: 403';
($x) = api('DELETE', "$A/articles/$id/links/$l1", cookie => $nc,
           csrf => 'x' . $nt);
is $x->code, 403, 'a wrong CSRF token: 403';
is anon($p1), 200, '... link 1 still works';

($x) = api('DELETE', "$A/articles/$id/links/$l1", cookie => $nc, csrf => $nt);
is $x->code, 204, 'DELETE links/L1: 204' or diag $x->content;
is $x->header('Qiwei-Revocation'), 'confirmed',
    '... confirmed on every server (the barrier)';
is anon($p1), 403, 'the gate refuses the revoked link (outsider)';
is as_out($p1), 403, '... and for a member outside the audience';
is anon($p2), 200, 'the other link still works';
is as_out($p2), 200, '... for that member too';

($x, $d) = links($id);
is_deeply [map { $_->{link_id} } @{ $d->{items} }], [$l2, $s_id],
    'the list: the revoked link is gone';

my $revokes = "SELECT count(*) FROM audit_log WHERE enterprise_id = $eid"
              . " AND action = 'share-link-revoke' AND result = 'success'";
is sql($revokes), 1, 'one share-link-revoke row';
is sql("SELECT details->>'link' FROM audit_log WHERE enterprise_id = $eid"
       . " AND action = 'share-link-revoke' AND result = 'success'"), $l1,
    '... naming the link';
is sql("SELECT revoked_by FROM share_links WHERE enterprise_id = $eid"
       . " AND link_id = '$l1'"), $actor, '... revoked_by: the admin';

($x) = api('DELETE', "$A/articles/$id/links/$l1", cookie => $nc, csrf => $nt);
is $x->code, 204, 'DELETE again: 204 (idempotent)';
is sql($revokes), 1, '... and no second row';

($x, $d) = api('DELETE', "$A/articles/$id/links/0123456789abcdef",
               cookie => $nc, csrf => $nt);
is $x->code, 404, 'an unknown link: 404';
is $d->{error}{field}, 'link_id', '... named';
($x) = api('DELETE', "$A/articles/$id/links/ZZ<b>", cookie => $nc,
           csrf => $nt);
is $x->code, 404, 'garbage: 404';
($x) = api('GET', "$A/articles/$id/links/$l2", cookie => $nc);
is $x->code, 405, 'GET links/ID: 405';
($x) = api('DELETE', "$A/articles/$id/links/$l2/x", cookie => $nc,
           csrf => $nt);
is $x->code, 404, 'a deeper path: 404';
($x) = api('DELETE', "$A/articles/999999999/links/$l2", cookie => $nc,
           csrf => $nt);
is $x->code, 404, 'an unknown article: 404';
my $other = mk("/t229/news/b-$u.html");
($x) = api('DELETE', "$A/articles/$other/links/$l2", cookie => $nc,
           csrf => $nt);
is $x->code, 404, "another article's link id: 404";
is anon($p2), 200, '... link 2 untouched';

# --- expired links are not listed ---------------------------------------------
sleep 3;
is anon($short), 410, 'the short-lived link has expired';
($x, $d) = links($id);
is_deeply [map { $_->{link_id} } @{ $d->{items} }], [$l2],
    'the list: the expired link is not shown';

# --- the statement with the shadow probe (QiweiArticleMissing allow) ----------
{
    my $oid = mk("/t229/open/c-$u.html");
    my ($q1, $k1) = link_of($oid);
    my ($q2, $k2) = link_of($oid);
    is anon($q1), 200, 'allow location: link 1 works';
    ($x) = api('DELETE', "$A/articles/$oid/links/$k1", cookie => $nc,
               csrf => $nt);
    is $x->code, 204, '... revoked';
    is anon($q1), 403, '... refused';
    is as_out($q1), 403, '... for a member outside the audience too';
    is anon($q2), 200, '... the other one works';
}

# --- a link with no record (made before schema 18) --------------------------
{
    my ($q, $k) = link_of($id);
    sql("DELETE FROM share_links WHERE enterprise_id = $eid"
        . " AND link_id = '$k'");
    is anon($q), 200, 'a link with no record keeps working';
    ($x, $d) = links($id);
    ok !grep({ $_->{link_id} eq $k } @{ $d->{items} }), '... is not listed';
    ($x) = api('DELETE', "$A/articles/$id/links/$k", cookie => $nc,
               csrf => $nt);
    is $x->code, 404, '... cannot be revoked alone: 404';
    ($x) = api('PUT', "$A/articles/$id/share", cookie => $nc, csrf => $nt,
               json => { share => 'revoke' });
    is $x->code, 200, 'PUT share revoke';
    is anon($q), 403, '... kills it';
    is anon($p2), 403, '... and every other link';
    ($x, $d) = links($id);
    is_deeply $d->{items}, [], '... the list is empty (older share version)';
}

# qiweictl's links are recorded too, named by the operator; article links
# and article unlink (parity with the API)
{
    my ($q, $k) = share_link($E, 'news', $P);
    my ($q2, $k2) = share_link($E, 'news', $P, expires => 3600);
    ($x, $d) = links($id);
    is $d->{items}[1]{link_id}, $k, 'a qiweictl link is listed';
    like $d->{items}[1]{created_by}, qr/^operator:/, '... made by the operator';
    my $o = qctl_ok(['article', 'links', $E, 'news', $P]);
    like $o, qr/^\Q$k2\E  made \S+Z by operator:\S+  expires \S+Z\n\Q$k\E  made .*expires never\n\z/,
        'article links: both, newest first';
    like qctl_ok(['article', 'unlink', $E, 'news', $P, $k]),
        qr/share link \Q$k\E of .*: revoked$/m, 'article unlink';
    is anon($q), 403, '... the gate refuses it';
    is anon($q2), 200, '... the other works';
    unlike qctl_ok(['article', 'links', $E, 'news', $P]), qr/\Q$k\E/,
        '... not listed any more';
    like qctl_ok(['article', 'unlink', $E, 'news', $P, $k]), qr/\(already\)/,
        '... again: already';
    my ($rc) = qctl(['article', 'unlink', $E, 'news', $P,
                     'ffffffffffffffff']);
    is $rc, 3, '... an unknown link: exit 3';
}

like qctl_ok(['audit', 'verify', $E]), qr/verified/, 'audit chain verifies';

done_testing();
