# Deleting a member erases the person: after `qiweictl member delete`, a
# dump of the whole database (as its owner) holds the account, display name
# and e-mail nowhere.  The operation log names members by id only; its
# viewer (admin API, qiweictl audit list, export) shows the account while
# the member exists and "member:<id> (deleted)" after.  Names that belong to
# nobody (a failed login to an unknown account) are kept as a keyed MAC.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IPC::Open3;
use Symbol 'gensym';
use QiweiTest;

ua_reset();

my $E = 't131';
my $H = '/t131/qiwei';
my $A = "$H/api/v1";
my $u = uniq();
seed_enterprise($E, 'Erasure');
admin_two_step_optional($E);
seed_department($E, "d$u", 'D');
seed_department($E, "e$u", 'E');
seed_role($E, "r$u");

# distinctive strings: any of them in the dump is a leak
my $acct  = "zqx7erase$u";
my $name  = "Zqx7 Erasure $u";
my $email = "zqx7mail$u\@example.com";
my $ghost = "zqx7ghost$u";                 # never a member: only a typed name
my $pw = activate_member($E, $acct, depts => "d$u", name => $name,
                         email => $email, mobile => '13977770131');
my $mid = sql(qq{SELECT m.member_id FROM members m JOIN enterprises e
                 USING (enterprise_id) WHERE e.code = '$E'
                 AND m.account = '$acct'});
like $mid, qr/^\d+$/, "member $acct has id $mid";

# qiweictl changes: operation-log rows about the member
is((move_member($E, $acct, "e$u"))[0], 0, 'qiweictl member move');
is((grant_role($E, $acct, "r$u"))[0], 0, 'qiweictl member grant-role');

# an article the member owns, reads and is named in (audience, people)
my $P = "/t131/doc$u.html";
qctl_ok(['article', 'add', $E, 'wiki', $P, '--title', "Doc $u",
         '--owner', $acct, '--member', $acct]);
qctl_ok(['article', 'people', $E, 'wiki', $P, '--responsible', $acct,
         '--related', $acct]);
qctl_ok(['article', 'audience', $E, 'wiki', $P, '--member', $acct]);
like sql(qq{SELECT string_agg(details::text, ' ') FROM audit_log a
            JOIN enterprises e USING (enterprise_id) WHERE e.code = '$E'
            AND a.module = 'wiki'}),
    qr/"owner": "member:$mid".*"responsible": "member:$mid"/s,
    'article rows name the owner and the people by id';

# admin API changes, one failed attempt (its message names the account)
my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
my (undef, $rc, $csrf) = api_login($H, $root, $rootpw);
ok $rc, 'super admin logged in';
my ($x) = api('PATCH', "$A/members/$acct", cookie => $rc, csrf => $csrf,
              json => { display_name => "$name 2" });
is $x->code, 200, 'admin API: display name changed';
($x) = api('POST', "$A/members", cookie => $rc, csrf => $csrf,
           json => { account => $acct, display_name => $name });
is $x->code, 409, 'admin API: creating the account again is a conflict';
($x) = api('PUT', "$A/members/$ghost/status", cookie => $rc, csrf => $csrf,
           json => { status => 'disabled' });
is $x->code, 404, 'admin API: a change to an unknown account is a 404';

# the member logs in (a session), then fails five times (a throttle row
# and a "login_throttled" row); a typed unknown name is throttled too
my (undef, $s) = login($H, $acct, $pw);
ok $s, 'member logged in';
login($H, $acct, "wrong-$_") for 1 .. 5;
login($H, $ghost, "wrong-$_") for 1 .. 5;
is sql(qq{SELECT count(*) FROM login_throttle t JOIN enterprises e
          USING (enterprise_id) WHERE e.code = '$E'
          AND t.account = '$acct'}), 1, 'a throttle row for the member';
# the member's account typed into the admin login
api_login($H, $acct, 'not-the-password');

my $ent_id = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");
my $rows = sql(qq{SELECT count(*) FROM audit_log WHERE enterprise_id = $ent_id
                  AND (object = 'member:$mid' OR actor = 'member:$mid')});
cmp_ok $rows, '>=', 5, "$rows operation-log rows name member:$mid";
is sql(qq{SELECT count(*) FROM audit_log WHERE enterprise_id = $ent_id
          AND (object || actor || coalesce(reason, '')
               || coalesce(details::text, '')) ILIKE '%zqx7%'}), 0,
    'no operation-log row holds the account, name or e-mail';
like sql(qq{SELECT string_agg(object, ' ') FROM audit_log
            WHERE enterprise_id = $ent_id AND action = 'login_throttled'}),
    qr/^member:$mid unknown-account:\d+:[0-9a-f]{32}$/,
    'throttling rows: the member by id, the unknown name as a keyed MAC';

# the viewer resolves the id while the member exists
my ($r, $j) = api('GET', "$A/audit?limit=500", cookie => $rc);
is $r->code, 200, 'audit list';
ok((grep { ($_->{object} // '') eq "member:$mid $acct" } @{ $j->{items} }),
   '... shows "member:<id> <account>" while the member exists');

# delete
my ($drc, $dout, $derr) = delete_member($E, $acct);
is $drc, 0, 'qiweictl member delete --yes' or diag "$derr$dout";
is sql(qq{SELECT count(*) FROM login_throttle WHERE account = '$acct'}), 0,
    'its throttle rows went with it';
is sql(qq{SELECT count(*) FROM articles WHERE path = '$P'
          AND owner_member_id IS NULL}), 1, 'the article stays, ownerless';
is sql(qq{SELECT (SELECT count(*) FROM article_people WHERE member_id = $mid)
          + (SELECT count(*) FROM article_audience WHERE member_id = $mid)
          + (SELECT count(*) FROM sessions WHERE member_id = $mid)}), 0,
    'no audience, people or session rows left';

($r, $j) = api('GET', "$A/audit?limit=500", cookie => $rc);
my @mine = grep { ($_->{object} // '') =~ /^member:$mid\b/
                  || ($_->{actor} // '') =~ /^member:$mid\b/ } @{ $j->{items} };
ok @mine >= 5, 'audit list after delete: the rows are still there';
ok !(grep { ($_->{object} // '') =~ /^member:$mid\b/
            && $_->{object} ne "member:$mid (deleted)" } @mine),
    '... each shows "member:<id> (deleted)"';
unlike $r->content, qr/zqx7/i, '... and no account, name or e-mail';
my $list = qctl_ok(['audit', 'list', $E]);
like $list, qr/\tmember:$mid \(deleted\)\t/, 'qiweictl audit list: deleted';
unlike $list, qr/zqx7/i, '... no account';
($r) = api('GET', "$A/audit/export", cookie => $rc);
is $r->code, 200, 'export';
like $r->content, qr/,member:$mid \(deleted\),/, '... deleted';
unlike $r->content, qr/zqx7/i, '... no account';

# gc sweeps idle throttle rows of names nobody holds
sql(qq{UPDATE login_throttle SET last_at = now() - interval '13 hours'
       WHERE account = '$ghost'});
qctl_ok(['gc']);
is sql(qq{SELECT count(*) FROM login_throttle WHERE account = '$ghost'}), 0,
    'gc: an idle throttle row of an unknown name is gone';

# the whole database, as its owner
my $dump = pg_dump();
ok length($dump) > 1000, 'pg_dump ran (' . length($dump) . ' bytes)';
for my $s ($acct, $name, $email, $ghost, 'zqx7') {
    my @hits = grep { index(lc $_, lc $s) >= 0 } split /\n/, $dump;
    ok !@hits, "pg_dump: '$s' is nowhere" or diag join "\n", @hits[0 .. 4];
}

done_testing;
