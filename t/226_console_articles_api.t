# The API calls the console's Articles screen added (issue 15): PUT
# $B/articles/ID/title (a new title), and GET $B/articles/ID/readers,
# who read an article, from the operation log (every read of a
# confidential article, every view through a share link).  A member reads a confidential news article twice and an outsider
# opens a share link: three rows, newest first, with reader, address, link;
# a read of another article is not among them; paging; a news-only
# sub-admin may ask, a wiki-only one is refused (403 + refused row); an
# unknown id is 404; another method 405; a non-confidential article read
# by a member has no rows.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use QiweiTest;

ua_reset();

my $E = 't226';
my $H = '/t226/qiwei';
my $A = "$H/api/v1";
my $u = uniq();
articles_enterprise($E, 'Console articles API');
seed_department($E, "eng$u", 'Eng');
my $owner = "owner$u";
activate_member($E, $owner, depts => "eng$u");
my $reader = "rd$u";
my $rpw = activate_member($E, $reader, depts => "eng$u");
my (undef, $rs) = login($H, $reader, $rpw);
ok $rs, 'the member logs in';

my $news = "news$u";
my ($nr, $nc, $nt) = api_sub_admin($E, $H, $news, "office$u", 'news');
is $nr->code, 201, 'news sub-admin logs in';
my $wiki = "wiki$u";
my ($wr, $wc, $wt) = api_sub_admin($E, $H, $wiki, "wikis$u", 'wiki');
is $wr->code, 201, 'wiki sub-admin logs in';

sub mk {
    my ($path, %o) = @_;
    my ($x, $d) = api('POST', "$A/articles", cookie => $nc, csrf => $nt,
                      json => { module => 'news', path => $path,
                                title => 'T', owner => $owner,
                                audience => { departments => ["eng$u"] },
                                %o });
    is $x->code, 201, "created $path" or diag $x->content;
    return $d->{id};
}
my $P = "/t226/news/c-$u.html";
my $Q = "/t226/news/o-$u.html";
my $R = "/t226/news/p-$u.html";
my $id = mk($P, confidential => JSON::PP::true());
my $other = mk($Q, confidential => JSON::PP::true());
my $plain = mk($R);

# GET articles/ID and the list describe the audience and the people (the
# list read them as empty before the console needed them)
{
    my ($x, $d) = api('PUT', "$A/articles/$id/people", cookie => $nc,
                      csrf => $nt, json => { responsible => [$owner] });
    is $x->code, 200, 'people set';
    ($x, $d) = api('GET', "$A/articles/$id", cookie => $nc);
    is_deeply $d->{audience}{departments}, ["eng$u"],
        'GET articles/ID: the audience';
    is_deeply $d->{responsible}, [$owner], '... the responsible';
    ($x, $d) = api('GET', "$A/articles?module=news", cookie => $nc);
    my ($it) = grep { $_->{id} == $id } @{ $d->{items} };
    is_deeply $it->{audience}{departments}, ["eng$u"], 'the list: the audience';
    is_deeply $it->{responsible}, [$owner], '... the responsible';
}

# PUT articles/ID/title
{
    my ($x, $d) = api('PUT', "$A/articles/$plain/title", cookie => $nc,
                      csrf => $nt, json => { title => '新标题 <b>x</b>' });
    is $x->code, 200, 'PUT title: 200' or diag $x->content;
    is $d->{title}, '新标题 <b>x</b>', '... the new title';
    is((api('GET', "$A/articles/$plain", cookie => $nc))[1]{title},
       '新标题 <b>x</b>', '... stored');
    my $eid0 = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");
    my $n = sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid0"
                . " AND action = 'update' AND details ? 'title'");
    is $n, 1, '... logged as an update';
    ($x, $d) = api('PUT', "$A/articles/$plain/title", cookie => $nc,
                   csrf => $nt, json => { title => '新标题 <b>x</b>' });
    is $x->code, 200, '... the same again: 200';
    is sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid0"
           . " AND action = 'update' AND details ? 'title'"), 1,
        '... and nothing logged';
    ($x, $d) = api('PUT', "$A/articles/$plain/title", cookie => $nc,
                   csrf => $nt, json => { title => '' });
    is $x->code, 400, 'an empty title: 400';
    ($x, $d) = api('PUT', "$A/articles/$plain/title", cookie => $nc,
                   csrf => $nt, json => { title => 'x', path => '/y' });
    is $x->code, 400, 'an unknown key: 400';
    is $d->{error}{field}, 'path', '... named';
    ($x) = api('PUT', "$A/articles/$plain/title", cookie => $wc,
               csrf => $wt, json => { title => 'w' });
    is $x->code, 403, 'a wiki-only sub-admin: 403';
    is((api('GET', "$A/articles/$plain", cookie => $nc))[1]{title},
       '新标题 <b>x</b>', '... the title unchanged');
}

# reads: the member twice, the other article once, an outsider by link
for (1 .. 2) {
    my $g = http_get($P, cookie => "qiwei_session=$rs", html => 1);
    is $g->code, 200, "the member reads the confidential article ($_)";
}
is http_get($Q, cookie => "qiwei_session=$rs", html => 1)->code, 200,
    '... and the other one';
is http_get($R, cookie => "qiwei_session=$rs", html => 1)->code, 200,
    '... and a plain one';
my ($x, $d) = api('PUT', "$A/articles/$id/share", cookie => $nc, csrf => $nt,
                  json => { share => 'on' });
is $x->code, 200, 'sharing on';
($x, $d) = api('POST', "$A/articles/$id/links", cookie => $nc, csrf => $nt,
               json => {});
is $x->code, 201, 'a link';
my $link = $d->{link_id};
my ($lpath) = ($d->{url} // '') =~ m{^https?://[^/]+(/\S+)$};
is http_get($lpath, html => 1)->code, 200, 'an outsider opens the link';

# --- the readers ----------------------------------------------------------
($x, $d) = api('GET', "$A/articles/$id/readers", cookie => $nc);
is $x->code, 200, 'GET readers: 200' or diag $x->content;
ok $d->{confidential}, '... says the article is confidential';
is scalar @{ $d->{items} }, 3, '... three reads (not the other article)';
my $mid = sql("SELECT member_id FROM members m JOIN enterprises e USING"
              . " (enterprise_id) WHERE e.code = '$E' AND account = '$reader'");
is $d->{items}[0]{reader}, "external:$link", '... newest first: the link';
is $d->{items}[0]{link}, $link, '... with its link id';
is $d->{items}[1]{reader}, "member:$mid $reader",
    '... then the member, with the account';
ok !defined $d->{items}[1]{link}, '... no link';
is $d->{items}[2]{reader}, "member:$mid $reader", '... twice';
like $d->{items}[1]{at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, '... time';
is $d->{items}[1]{source_ip}, '127.0.0.1', '... address';
ok defined $d->{items}[1]{user_agent}, '... user agent';
is_deeply [sort keys %{ $d->{items}[1] }],
    [qw(at link reader source_ip user_agent)], "... nothing else (link null)";

($x, $d) = api('GET', "$A/articles/$id/readers?limit=1&offset=1",
               cookie => $nc);
is $x->code, 200, 'paged: 200';
is scalar @{ $d->{items} }, 1, '... one row';
is $d->{items}[0]{reader}, "member:$mid $reader", '... the second newest';
is $d->{limit}, 1, '... limit';
is $d->{offset}, 1, '... offset';

($x, $d) = api('GET', "$A/articles/$plain/readers", cookie => $nc);
is $x->code, 200, 'a plain article: 200';
ok !$d->{confidential}, '... not confidential';
is_deeply $d->{items}, [], '... its reads are not logged: no rows';

# --- refusals ---------------------------------------------------------------
my $eid = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");
my $before = sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid"
                 . " AND result = 'refused' AND module = 'news'");
($x, $d) = api('GET', "$A/articles/$id/readers", cookie => $wc);
is $x->code, 403, 'a wiki-only sub-admin: 403';
ok !exists $d->{items}, '... no rows';
is sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid"
       . " AND result = 'refused' AND module = 'news'"), $before + 1,
    '... logged refused';
($x) = api('GET', "$A/articles/999999999/readers", cookie => $nc);
is $x->code, 404, 'unknown id: 404';
($x) = api('POST', "$A/articles/$id/readers", cookie => $nc, csrf => $nt,
           json => {});
is $x->code, 405, 'POST readers: 405';
($x) = api('GET', "$A/articles/$id/readers");
is $x->code, 401, 'no session: 401';
($x) = api('GET', "$A/articles/$id/readers?limit=0", cookie => $nc);
is $x->code, 400, 'limit 0: 400';

done_testing();
