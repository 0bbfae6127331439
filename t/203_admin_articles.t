# Admin API articles (issue 5): a news-only sub-admin manages news but is
# refused (403 + "refused" row) on wiki; create, audience (decides the next
# request), people, confidential, watermark, body upload served by a
# QiweiArticleStore location, share on -> link works -> off -> link dead,
# delete; status codes; every change audited with the admin as actor.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode ();
use JSON::PP ();
use QiweiTest;

ua_reset();

my $E = 't203';
my $H = '/t203/qiwei';
my $A = "$H/api/v1";
my $u = uniq();
# this file is about the article endpoints: two-step optional as in t/200
articles_enterprise($E, 'Admin API articles');
seed_department($E, "eng$u", 'Eng');
seed_department($E, "ops$u", 'Ops');
my $owner = "owner$u";
activate_member($E, $owner, depts => "eng$u");
my $eng = "eng$u";
my $epw = activate_member($E, $eng, depts => "eng$u");
my (undef, $es) = login($H, $eng, $epw);
ok $es, 'member logs in';

sub eid { sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'") }
sub audit_count {
    my ($where) = @_;
    return sql("SELECT count(*) FROM audit_log WHERE enterprise_id = "
               . eid() . " AND $where");
}

my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
my ($r, $rc, $csrf) = api_login($H, $root, $rootpw);
is $r->code, 201, 'super admin logs in';

# a news-only sub-admin
my $news = "news$u";
my ($nr, $nc, $nt) = api_sub_admin($E, $H, $news, "office$u", 'news');
is $nr->code, 201, 'news sub-admin logs in';
my $nid = sql("SELECT admin_id FROM admin_accounts WHERE account = '$news'");

my $P = "/t203/news/a-$u.html";
my $W = "/t203/store/w-$u.html";
my $id;

# --- create -------------------------------------------------------------
{
    my ($x, $d) = api('POST', "$A/articles", cookie => $nc, csrf => $nt,
                      json => { module => 'news', path => $P,
                                title => '新闻', owner => $owner,
                                audience => { departments => ["ops$u"] } });
    is $x->code, 201, 'news admin creates a news article: 201'
        or diag $x->content;
    $id = $d->{id};
    ok $id, '... with an id';
    is $d->{module}, 'news', '... module';
    is_deeply $d->{audience}{departments}, ["ops$u"], '... audience';
    is $d->{watermark}, 'inherit', '... watermark inherits by default';
    is audit_count("actor = 'admin:$nid' AND module = 'news' AND "
                   . "action = 'create' AND result = 'success'"), 1,
        '... audit row with the admin as actor';

    ($x) = api('POST', "$A/articles", cookie => $nc, csrf => $nt,
               json => { module => 'news', path => $P, title => 'again',
                         owner => $owner });
    is $x->code, 409, 'same path again: 409';
    ($x, $d) = api('POST', "$A/articles", cookie => $nc, csrf => $nt,
                   json => { module => 'news', path => 'no-slash',
                             title => 'x', owner => $owner });
    is $x->code, 400, 'bad path: 400';
    ($x, $d) = api('POST', "$A/articles", cookie => $nc, csrf => $nt,
                   json => { module => 'news', path => "/t203/news/b$u",
                             title => 'x', owner => $owner,
                             confidential => 'yes' });
    is $x->code, 400, 'string for a boolean: 400';
    is $d->{error}{field}, 'confidential', '... names the field';
    ($x, $d) = api('POST', "$A/articles", cookie => $nc, csrf => $nt,
                   json => { module => 'news', path => "/t203/news/b$u",
                             title => 'x', owner => $owner,
                             watermark => 'maybe' });
    is $x->code, 400, 'bad watermark: 400';
    ($x) = api('POST', "$A/articles", cookie => $nc,
               json => { module => 'news', path => "/t203/news/c$u",
                         title => 'x', owner => $owner });
    is $x->code, 403, 'no CSRF token: 403';
}

# --- the news admin on wiki: 403 and a refused row -----------------------
{
    my $before = audit_count("actor = 'admin:$nid' AND result = 'refused' "
                             . "AND module = 'wiki'");
    my ($x) = api('POST', "$A/articles", cookie => $nc, csrf => $nt,
                  json => { module => 'wiki', path => $W, title => 'w',
                            owner => $owner });
    is $x->code, 403, 'news admin creates a wiki article: 403';
    is sql("SELECT count(*) FROM articles WHERE path = '$W'"), 0,
        '... nothing created';
    ($x) = api('POST', "$A/articles", cookie => $rc, csrf => $csrf,
               json => { module => 'wiki', path => $W, title => 'Wiki',
                         owner => $owner, audience => { all => JSON::PP::true() } });
    is $x->code, 201, 'super admin creates the wiki article';
    my $wid = sql("SELECT article_id FROM articles WHERE path = '$W'");
    ($x) = api('GET', "$A/articles/$wid", cookie => $nc);
    is $x->code, 403, 'news admin reads the wiki article: 403';
    ($x) = api('PUT', "$A/articles/$wid/confidential", cookie => $nc,
               csrf => $nt, json => { confidential => JSON::PP::true() });
    is $x->code, 403, 'news admin edits the wiki article: 403';
    ($x) = api('GET', "$A/articles?module=wiki", cookie => $nc);
    is $x->code, 403, 'news admin lists wiki: 403';
    is audit_count("actor = 'admin:$nid' AND result = 'refused' "
                   . "AND module = 'wiki'"), $before + 4,
        '... each refusal logged';
    my $d;
    ($x, $d) = api('GET', "$A/articles", cookie => $nc);
    is $x->code, 200, 'news admin lists articles';
    is_deeply [map { $_->{module} } @{ $d->{items} }], ['news'],
        '... and sees only news';
    ($x, $d) = api('GET', "$A/articles?limit=1&offset=0", cookie => $rc);
    is $d->{total}, 2, 'super admin sees both';
    is scalar @{ $d->{items} }, 1, '... one per page with limit=1';
    ($x) = api('GET', "$A/articles/999999999", cookie => $rc);
    is $x->code, 404, 'unknown id: 404';
}

# --- audience through the API decides the next request -------------------
{
    denied($P, $es, 'eng member outside the audience');
    my ($x, $d) = api('PUT', "$A/articles/$id/audience", cookie => $nc,
                      csrf => $nt, json => { departments => ["eng$u"] });
    is $x->code, 200, 'audience set: 200';
    is_deeply $d->{audience}{departments}, ["eng$u"], '... returned';
    allowed($P, $es, 'eng member, next request');
    ($x) = api('PUT', "$A/articles/$id/audience", cookie => $nc,
               csrf => $nt, json => { members => [] });
    denied($P, $es, 'audience emptied: next request');
    ($x, $d) = api('PUT', "$A/articles/$id/audience", cookie => $nc,
                   csrf => $nt, json => { departments => ["none$u"] });
    is $x->code, 404, 'unknown department: 404';
    ($x, $d) = api('PUT', "$A/articles/$id/audience", cookie => $nc,
                   csrf => $nt, body => 'departments=x',
                   type => 'application/x-www-form-urlencoded');
    is $x->code, 415, 'form body: 415';
    api('PUT', "$A/articles/$id/audience", cookie => $nc, csrf => $nt,
        json => { departments => ["eng$u"] });
}

# --- people, confidential, watermark --------------------------------------
{
    my ($x, $d) = api('PUT', "$A/articles/$id/people", cookie => $nc,
                      csrf => $nt, json => { responsible => [$owner],
                                             related => [$eng] });
    is $x->code, 200, 'people set';
    is_deeply [$d->{responsible}, $d->{related}], [[$owner], [$eng]],
        '... returned';
    ($x, $d) = api('PUT', "$A/articles/$id/confidential", cookie => $nc,
                   csrf => $nt, json => { confidential => JSON::PP::true() });
    is $x->code, 200, 'confidential on';
    ok $d->{confidential}, '... returned';
    ($x, $d) = api('PUT', "$A/articles/$id/confidential", cookie => $nc,
                   csrf => $nt, json => {});
    is $x->code, 400, 'confidential missing: 400';
    ($x, $d) = api('PUT', "$A/articles/$id/watermark", cookie => $nc,
                   csrf => $nt, json => { watermark => 'on' });
    is $x->code, 200, 'watermark on';
    is $d->{watermark}, 'on', '... returned';
}

# --- share on -> link works -> off -> link dead ---------------------------
{
    my ($x, $d) = api('POST', "$A/articles/$id/links", cookie => $nc,
                      csrf => $nt);
    is $x->code, 409, 'link while sharing is off: 409';
    ($x, $d) = api('PUT', "$A/articles/$id/share", cookie => $nc,
                   csrf => $nt, json => { share => 'on' });
    is $x->code, 200, 'share on';
    ok $d->{share}{enabled}, '... enabled';
    ($x, $d) = api('POST', "$A/articles/$id/links", cookie => $nc,
                   csrf => $nt, json => { expires_in => 3600 });
    is $x->code, 201, 'link made: 201';
    like $d->{link_id}, qr/^[0-9a-f]{16}$/, '... link id';
    ok $d->{expires_at} > time + 3000, '... expiry about an hour away';
    my ($path) = ($d->{url} // '') =~ m{^https?://[^/]+(/\S+)$};
    like $path // '', qr/^\Q$P\E\?qs=[A-Za-z0-9_-]{98}$/,
        '... URL on this server with the token';
    is audit_count("actor = 'admin:$nid' AND action = 'share-link' AND "
                   . "details->>'link' = '$d->{link_id}'"), 1,
        '... the link logged by id';
    my $g = http_get($path, html => 1);
    ok $g->code == 200 && $g->content =~ /${\ SECRET}/,
        'outsider with the link: 200' or diag 'got ' . $g->code;
    ($x) = api('PUT', "$A/articles/$id/share", cookie => $nc, csrf => $csrf);
    is $x->code, 403, "another admin's CSRF token: 403";
    ($x) = api('PUT', "$A/articles/$id/share", cookie => $nc,
               csrf => $nt, json => { share => 'sometimes' });
    is $x->code, 400, 'bad share value: 400';
    ($x, $d) = api('PUT', "$A/articles/$id/share", cookie => $nc,
                   csrf => $nt, json => { share => 'off' });
    is $x->code, 200, 'share off';
    $g = http_get($path, html => 1);
    isnt $g->code, 200, 'the link is dead';
    unlike $g->content, qr/${\ SECRET}/, '... no content';
}

# --- body upload, served by the store location ----------------------------
{
    my $wid = sql("SELECT article_id FROM articles WHERE path = '$W'");
    my $marker = "stored-$u";
    my $body = Encode::encode_utf8(
        "<!DOCTYPE html><html><body><p>维基 $marker</p></body></html>");
    my ($x) = api('PUT', "$A/articles/$wid/body", cookie => $nc,
                  csrf => $nt, body => $body, type => 'text/html');
    is $x->code, 403, 'news admin uploads a wiki body: 403';
    my $d;
    ($x, $d) = api('PUT', "$A/articles/$wid/body", cookie => $rc,
                   csrf => $csrf, body => $body, type => 'text/html');
    is $x->code, 200, 'super admin uploads the body' or diag $x->content;
    ($x, $d) = api('PUT', "$A/articles/$wid/body", cookie => $rc,
                   csrf => $csrf, body => $body,
                   type => 'text/html; charset=utf-8');
    is $x->code, 200, '... again with the charset: 200';
    is $d->{body}{type}, 'text/html; charset=utf-8', '... type returned';
    ($x) = api('PUT', "$A/articles/$wid/body", cookie => $rc,
               csrf => $csrf, body => 'x', type => 'nonsense');
    is $x->code, 415, 'a type without a slash: 415';
    ($x) = api('PUT', "$A/articles/$wid/body", cookie => $rc,
               csrf => $csrf, body => 'x' x (16 * 1024 * 1024 + 1),
               type => 'text/plain');
    is $x->code, 413, 'body above 16 MB: 413';
    my $g = http_get($W, cookie => "qiwei_session=$es", html => 1);
    is $g->code, 200, 'member reads the stored body';
    like Encode::decode_utf8($g->content), qr/\Q$marker\E/,
        '... the uploaded body';
    is sql("SELECT count(*) FROM articles WHERE path = '$W' AND "
           . "position(convert_to('$marker', 'UTF8') in body_enc) > 0"),
        0, '... stored encrypted';
    is audit_count("actor = 'admin:" . sql("SELECT admin_id FROM "
                   . "admin_accounts WHERE account = '$root'")
                   . "' AND module = 'wiki' AND object LIKE 'article:$wid %'"
                   . " AND result = 'success'"), 3,
        'create and two uploads audited';
}

# --- delete -----------------------------------------------------------------
{
    my ($x) = api('DELETE', "$A/articles/$id", cookie => $nc);
    is $x->code, 403, 'delete without CSRF: 403';
    ($x) = api('DELETE', "$A/articles/$id", cookie => $nc, csrf => $nt);
    is $x->code, 204, 'news admin deletes the news article: 204';
    ($x) = api('GET', "$A/articles/$id", cookie => $nc);
    is $x->code, 404, '... gone';
    is audit_count("actor = 'admin:$nid' AND module = 'news' AND "
                   . "action = 'delete' AND result = 'success'"), 1,
        '... audited';
    my $n = audit_count("actor = 'admin:$nid' AND module = 'news' AND "
                        . "result = 'success'");
    cmp_ok $n, '>=', 9, "every news change audited ($n rows)";
}

done_testing();
