# Require qiwei-article: each audience kind (all, departments with their
# sub-departments, roles, members), owner and responsible/related people,
# fail-closed for paths without an article, the 403 page (zh-CN and en, no
# hint of the title), cross-tenant refusal, changes taking effect on the
# next request, confidential reads in the operation log, and the article's
# own watermark setting.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(decode_utf8);
use QiweiTest;

ua_reset();

my $H = '/t70a/qiwei';
my $u = uniq();
seed_enterprise('t70a', '文章测试');
seed_enterprise('t70x', '另一家');
seed_department('t70a', 'hq', '总部');
seed_department('t70a', 'eng', '研发部', 'hq');
seed_department('t70a', 'sales', '销售部', 'hq');
seed_role('t70a', 'manager');

# who => [departments, roles]
my %people = (
    owner  => ['hq', []],
    eng    => ['eng', []],
    sales  => ['sales', []],
    engmg  => ['eng', ['manager']],
    nodept => [undef, []],
    resp   => [undef, []],
    rel    => [undef, []],
);
my (%session, %acct);
for my $who (sort keys %people) {
    my ($depts, $roles) = @{ $people{$who} };
    $acct{$who} = "$who$u";
    my $pw = activate_member('t70a', $acct{$who}, name => "User $who",
                             depts => $depts, roles => $roles);
    my ($r, $s) = login($H, $acct{$who}, $pw);
    is $r->code, 303, "$who logs in";
    $session{$who} = $s;
}
# a member of another enterprise
my $other = "other$u";
my $opw = activate_member('t70x', $other);
my (undef, $osess) = login('/t70x/qiwei', $other, $opw);
ok $osess, 'member of t70x logs in';

sub art {
    my ($module, $name, @opts) = @_;
    my $path = "/t70a/$module/$name-$u.html";
    my $title = "机密标题 $name $u";
    qctl_ok(['article', 'add', 't70a', $module, $path, '--title', $title,
             '--owner', $acct{owner}, @opts]);
    return $path;
}

my %art = (
    all    => art('news', 'all', '--all'),
    hq     => art('news', 'hq', '--dept', 'hq'),
    eng    => art('news', 'eng', '--dept', 'eng'),
    role   => art('news', 'role', '--role', 'manager'),
    member => art('news', 'member', '--member', $acct{sales}),
    mixed  => art('news', 'mixed', '--dept', 'sales', '--member',
                  $acct{eng}),
    none   => art('news', 'none'),
    form   => art('forms', 'form'),
);
qctl_ok(['article', 'people', 't70a', 'forms', $art{form},
         '--responsible', $acct{resp}, '--related', $acct{rel}]);

my %expect = (
    all    => { map { $_ => 200 } keys %people },
    hq     => { owner => 200, eng => 200, sales => 200, engmg => 200,
                nodept => 403, resp => 403, rel => 403 },
    eng    => { owner => 200, eng => 200, engmg => 200, sales => 403,
                nodept => 403, resp => 403 },
    role   => { owner => 200, engmg => 200, eng => 403, sales => 403,
                nodept => 403 },
    member => { owner => 200, sales => 200, eng => 403, engmg => 403,
                nodept => 403 },
    mixed  => { owner => 200, sales => 200, eng => 200, engmg => 403,
                nodept => 403 },
    none   => { owner => 200, eng => 403, sales => 403, nodept => 403 },
    # a form submission: its author and the people they named, nobody else
    form   => { owner => 200, resp => 200, rel => 200, eng => 403,
                engmg => 403, sales => 403, nodept => 403 },
);
for my $a (sort keys %expect) {
    for my $who (sort keys %{ $expect{$a} }) {
        if ($expect{$a}{$who} == 200) {
            allowed($art{$a}, $session{$who}, "$who on article $a");
        }
        else {
            denied($art{$a}, $session{$who}, "$who on article $a");
        }
    }
    refused_as_anonymous($art{$a}, undef, "anonymous on article $a",
                         '/t70a/qiwei/login');
}

# --- the 403 page ----------------------------------------------------------
{
    my $zh = http_get($art{eng}, cookie => "qiwei_session=$session{sales}",
                      html => 1, lang => 'zh-CN');
    is $zh->code, 403, '403 for a member outside the audience';
    my $body = decode_utf8($zh->content);
    like $body, qr/没有权限访问本页面/, '... zh-CN page says so';
    unlike $body, qr/机密标题|eng-\Q$u\E/, '... no hint of the title';
    unlike $body, qr/${\ SECRET}/, '... no content';
    my $en = http_get($art{eng}, cookie => "qiwei_session=$session{sales}",
                      html => 1, lang => 'en');
    is $en->code, 403, '403 in English too';
    like $en->content, qr/No permission to access this page/i,
        '... en page says so';
    unlike decode_utf8($en->content), qr/机密标题/, '... no title';
}

# --- paths without an article ---------------------------------------------
denied("/t70a/news/nothing-$u.html", $session{owner},
       'no article record: refused (fail closed)');
allowed("/t70a/open/nothing-$u.html", $session{eng},
        'no article record with QiweiArticleMissing allow');
refused_as_anonymous("/t70a/open/nothing-$u.html", undef,
                     'QiweiArticleMissing allow still needs a member',
                     '/t70a/qiwei/login');

# --- composition ----------------------------------------------------------
{
    my $p = "/t70a/mgmt/m-$u.html";
    qctl_ok(['article', 'add', 't70a', 'news', $p, '--title', 'm',
             '--owner', $acct{owner}, '--dept', 'eng']);
    allowed($p, $session{engmg}, 'RequireAll article + role: both hold');
    denied($p, $session{eng}, 'RequireAll article + role: no role');
    denied($p, $session{sales}, 'RequireAll article + role: not in audience');
}

# --- tenants ----------------------------------------------------------------
refused_as_anonymous($art{all}, "qiwei_session=$osess",
                     'member of t70x on a t70 article', '/t70a/qiwei/login');
{
    # the same path in t70x has no article there: refused
    (my $p = $art{all}) =~ s{^/t70a/}{/t70x/};
    denied($p, $osess, 't70 article path under t70x: no record there');
}

# --- changes take effect on the next request ------------------------------
allowed($art{eng}, $session{eng}, 'before the audience change');
qctl_ok(['article', 'audience', 't70a', 'news', $art{eng}, '--role',
         'manager']);
denied($art{eng}, $session{eng}, 'audience changed to a role: eng refused');
allowed($art{eng}, $session{engmg}, '... the manager still reads it');

denied($art{hq}, $session{nodept}, 'no department: refused');
my ($rc) = move_member('t70a', $acct{nodept}, 'sales');
is $rc, 0, 'member moved into sales';
allowed($art{hq}, $session{nodept}, '... and reads the hq article at once');
($rc) = grant_role('t70a', $acct{eng}, 'manager');
allowed($art{role}, $session{eng}, 'role granted: reads at once');
($rc) = revoke_role('t70a', $acct{eng}, 'manager');
denied($art{role}, $session{eng}, 'role revoked: refused at once');

# --- confidential reads are logged -----------------------------------------
{
    my $p = "/t70a/news/conf-$u.html";
    qctl_ok(['article', 'add', 't70a', 'news', $p, '--title', 'secret',
             '--owner', $acct{owner}, '--all', '--confidential']);
    my ($id) = psql_query("SELECT member_id FROM members m JOIN enterprises "
                          . "e USING (enterprise_id) WHERE e.code = 't70a' "
                          . "AND m.account = '$acct{eng}'");
    my $count = sub {
        (psql_query("SELECT count(*) FROM audit_log l JOIN enterprises e "
                    . "USING (enterprise_id) WHERE e.code = 't70a' AND "
                    . "l.module = 'news' AND l.action = 'read' AND "
                    . "l.actor = 'member:$id' AND l.object LIKE '% $p'"))[0];
    };
    is $count->(), 0, 'no read logged yet';
    allowed($p, $session{eng}, 'confidential article read');
    is $count->(), 1, '... the read is in the operation log';
    my ($line) = psql_query("SELECT source_ip, user_agent FROM audit_log "
        . "WHERE action = 'read' AND actor = 'member:$id' AND object LIKE "
        . "'% $p' ORDER BY at DESC LIMIT 1");
    my ($ip, $ua) = ($line // '') =~ /^(.*)\t(.*)$/;
    like $ip // '', qr/^(127\.0\.0\.1|::1)$/, '... with the source address';
    ok length($ua // ''), '... and the user agent';
    allowed($p, $session{eng}, 'read again');
    is $count->(), 2, '... every read is logged';
    # a refused read is not a read
    qctl_ok(['article', 'audience', 't70a', 'news', $p, '--dept', 'sales']);
    denied($p, $session{eng}, 'confidential, not in audience');
    is $count->(), 2, '... nothing logged for a refusal';
    my $v = qctl_ok(['audit', 'verify', 't70a']);
    like $v, qr/verified/, 'the audit chain still verifies';
    # non-confidential reads are not logged
    my ($n) = psql_query("SELECT count(*) FROM audit_log WHERE action = "
                         . "'read' AND object LIKE '% $art{all}'");
    is $n, 0, 'ordinary reads are not logged';
}

# --- the article's watermark setting ---------------------------------------
{
    my $on = "/t70a/news/wmon-$u.html";
    qctl_ok(['article', 'add', 't70a', 'news', $on, '--title', 'w',
             '--owner', $acct{owner}, '--all', '--watermark', 'on']);
    my $r = http_get($on, cookie => "qiwei_session=$session{eng}", html => 1);
    is $r->code, 200, 'article with watermark on, location without';
    like $r->content, qr/\Q${\ wm_marker()}\E/, '... is watermarked';
    like $r->content, qr/User%20eng%20/, '... with the reader';
    like $r->header('Cache-Control') // '', qr/no-store/,
        '... and not cacheable';

    my $inherit = "/t70a/wm/inherit-$u.html";
    my $off = "/t70a/wm/off-$u.html";
    qctl_ok(['article', 'add', 't70a', 'wiki', $inherit, '--title', 'w',
             '--owner', $acct{owner}, '--all']);
    qctl_ok(['article', 'add', 't70a', 'wiki', $off, '--title', 'w',
             '--owner', $acct{owner}, '--all', '--watermark', 'off']);
    $r = http_get($inherit, cookie => "qiwei_session=$session{eng}",
                  html => 1);
    like $r->content, qr/\Q${\ wm_marker()}\E/,
        'inherit: the location watermarks';
    $r = http_get($off, cookie => "qiwei_session=$session{eng}", html => 1);
    is $r->code, 200, 'article with watermark off';
    unlike $r->content, qr/\Q${\ wm_marker()}\E/,
        '... overrides the location';
    like $r->content, qr/${\ SECRET}/, '... content served';
}

# --- CLI round trip ---------------------------------------------------------
{
    my $show = decode_utf8(qctl_ok(['article', 'show', 't70a', 'forms',
                                    $art{form}]));
    like $show, qr/responsible:\s+\Q$acct{resp}\E/, 'show: responsible';
    like $show, qr/related:\s+\Q$acct{rel}\E/, 'show: related';
    my ($rc2, $o, $e) = qctl(['article', 'add', 't70a', 'news', $art{all},
                              '--title', 'dup', '--owner', $acct{owner}]);
    is $rc2, 4, 'adding the same path twice: conflict';
    ($rc2, $o, $e) = qctl(['article', 'add', 't70a', 'news', "/t70a/x-$u",
                           '--title', 't', '--owner', $acct{owner},
                           '--dept', 'nope']);
    is $rc2, 3, 'unknown department: not found';
    like $e, qr/nope/, '... named';
    ($rc2) = qctl(['article', 'add', 't70a', 'news', 'relative/path',
                   '--title', 't', '--owner', $acct{owner}]);
    is $rc2, 2, 'relative path refused';
    my $del = "/t70a/news/del-$u.html";
    qctl_ok(['article', 'add', 't70a', 'news', $del, '--title', 't',
             '--owner', $acct{owner}, '--all']);
    allowed($del, $session{eng}, 'before delete');
    qctl_ok(['article', 'delete', 't70a', 'news', $del, '--yes']);
    denied($del, $session{eng}, 'deleted article: refused');
}

done_testing();
