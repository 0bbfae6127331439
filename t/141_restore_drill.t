# The restore drill of docs/operations.md, run for real: the suite's
# database is dumped (pg_dump -Fc), restored into a NEW private cluster
# (scripts/pg.sh in a directory of its own), and a one-child node runs on
# the restored database with the backed-up key file.  Members log in,
# sealed fields and a stored (encrypted) article body decrypt, sessions made
# before the dump still work, and `qiweictl audit verify` passes.  Two
# controls: without the key file (another key) nothing sealed decrypts and
# the audit chain does not verify; and a member disabled after the dump is
# active again in the restore (what a restore from an older backup brings
# back, which docs/operations.md tells the operator to re-apply).
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(encode_utf8 decode_utf8);
use File::Copy qw(copy);
use Time::HiRes qw(time);
use Apache::Test ();
use QiweiTest;
use QiweiNode;

ua_reset();

my $E = 't141';
my $scripts = $ENV{QIWEI_TEST_SCRIPTS} or die "QIWEI_TEST_SCRIPTS not set\n";
my $state = $ENV{QIWEI_TEST_STATE} or die "QIWEI_TEST_STATE not set\n";
my $bindir = $ENV{QIWEI_PG_BINDIR} or die "QIWEI_PG_BINDIR not set\n";
my $drill = "$state/drill141";
my $t_start = time;

my $drill_started;
END {
    my $rc = $?;
    system('bash', "$scripts/pg.sh", 'destroy', $drill) if $drill_started;
    $? = $rc;
}

my $locations = <<"EOF";
${\ member_locations($E)}<Location /$E/store>
    AuthType Qiwei
    QiweiEnterprise $E
    QiweiLoginURL /$E/qiwei/login
    QiweiArticleModule wiki
    QiweiArticleStore On
    Require qiwei-article
</Location>
EOF

# --- what the backup must bring back -------------------------------------------
my $u = uniq();
seed_enterprise($E, '恢复演练 Restore drill');
seed_department($E, 'board', '董事会');
my %acct = (boss => "boss$u", late => "late$u");
my %pw;
$pw{boss} = activate_member($E, $acct{boss}, depts => 'board',
                            mobile => '13900139141');
$pw{late} = activate_member($E, $acct{late}, depts => 'board');
# a node on the suite's database (its configuration has no /t141)
my $live = start_node(name => 'n141live', extra => $locations);
my (undef, $session) = node_login($live, "/$E/qiwei", $acct{boss}, $pw{boss});
ok defined $session, 'a session on the suite\'s database before the backup';

my $path = "/$E/store/minutes-$u.html";
my $body = "<!DOCTYPE html><html><body><p>董事会纪要 QIWEI-RESTORED-$u</p>"
         . "</body></html>";
qctl_ok(['article', 'add', $E, 'wiki', $path, '--title', "纪要 $u",
         '--owner', $acct{boss}, '--dept', 'board']);
qctl_ok(['article', 'body', $E, 'wiki', $path, '-'], encode_utf8($body));
{
    my ($n) = super_sql("SELECT count(*) FROM articles a JOIN enterprises e "
        . "USING (enterprise_id) WHERE e.code = '$E' AND a.path = '$path' "
        . "AND position(convert_to('QIWEI-RESTORED-$u', 'UTF8') IN "
        . "a.body_enc) = 0");
    is $n, 1, 'the stored body is encrypted in the database';
}

# --- the backup: pg_dump -Fc, and the key file apart ----------------------------
system("bash '$scripts/pg.sh' destroy '$drill' >/dev/null 2>&1");
mkdir $drill or die "$drill: $!";
chmod 0755, $drill;
my $dump = "$drill/qiwei.dump";
{
    my $dsn = $ENV{QIWEI_DSN};                  # the owner of database qiwei
    my $t0 = time;
    is system("$bindir/pg_dump", '-Fc', '-f', $dump, '-d', $dsn), 0,
        'pg_dump -Fc of the suite\'s database (as its owner)';
    ok -s $dump, sprintf('... %d bytes in %.2f s', -s $dump // 0, time - $t0);
}
my $key_backup = "$drill/qiwei.key";
copy($ENV{QIWEI_KEYFILE}, $key_backup) or die "copy key: $!";
chmod 0600, $key_backup;

# a change after the backup: lost by the restore
my ($rc) = set_status($E, $acct{late}, 'disabled');
is $rc, 0, 'a member disabled after the backup';

# --- the restore: a new cluster ----------------------------------------------
$drill_started = 1;
is system("bash '$scripts/pg.sh' start '$drill' >/dev/null"), 0,
    'a new PostgreSQL (scripts/pg.sh start): roles and an empty database'
    or BAIL_OUT('no cluster for the restore');
my %pg = read_env_file("$drill/pg.env");
{
    my $t0 = time;
    is system("$bindir/pg_restore", '--exit-on-error', '--single-transaction',
              '-d', $pg{QIWEI_PG_OWNER_DSN}, $dump), 0,
        'pg_restore into it as the database owner';
    diag sprintf('pg_restore took %.2f s', time - $t0);
}

local $ENV{QIWEI_DSN} = $pg{QIWEI_PG_OWNER_DSN};
{
    my ($rc2, $o) = qctl(['schema-version']);
    is $rc2, 0, 'qiweictl schema-version on the restore';
    my ($rc3, $o3, $e3) = qctl(['migrate', '--app-role', $pg{QIWEI_PG_APP_ROLE},
                                '--sql-dir', $ENV{QIWEI_SQLDIR}]);
    is $rc3, 0, 'qiweictl migrate on the restore: nothing to do, rights granted'
        or diag "$e3$o3";
}

# --- the controls: another key opens nothing ------------------------------------
my $wrong_key = "$drill/other.key";
qctl_ok(['keygen', $wrong_key]);
{
    my ($rc2, $o) = qctl(['-k', $wrong_key, 'member', 'show', $E, $acct{boss}]);
    isnt $rc2, 0, 'without the key file: member show fails (sealed mobile)';
    unlike $o, qr/13900139141/, '... and shows no mobile';
    my ($rc3, $o3) = qctl(['-k', $wrong_key, 'article', 'cat', $E, 'wiki',
                           $path]);
    isnt $rc3, 0, '... article cat fails';
    unlike $o3, qr/QIWEI-RESTORED/, '... no body';
    my ($rc4) = qctl(['-k', $wrong_key, 'audit', 'verify', $E]);
    isnt $rc4, 0, '... audit verify fails';
}

# --- with the backed-up key: everything is there ---------------------------------
$ENV{QIWEI_KEYFILE} = $key_backup;
{
    my ($rc2, $o, $e) = qctl(['audit', 'verify', $E]);
    is $rc2, 0, 'qiweictl audit verify passes on the restore' or diag "$e$o";
    my ($rc3, $o3) = qctl(['member', 'show', $E, $acct{boss}]);
    like $o3, qr/^mobile:\s+13900139141$/m, 'the sealed mobile decrypts';
    my ($rc4, $o4) = qctl(['member', 'show', $E, $acct{late}]);
    like $o4, qr/^status:\s+active$/m,
        'the member disabled after the backup is active again (re-apply!)';
}

my $node = start_node(name => 'n141',
    env => { QIWEI_TEST_DSN => $pg{QIWEI_PG_APP_DSN},
             QIWEI_KEYFILE => $key_backup },
    extra => $locations);

sub get {
    my ($url, $s) = @_;
    return raw_request($node, 'GET', $url, timeout => 15,
        headers => [Accept => 'text/html',
                    (defined $s ? (Cookie => "qiwei_session=$s") : ())]);
}

my ($code, $s2) = node_login($node, "/$E/qiwei", $acct{boss}, $pw{boss});
is $code, 303, 'the member logs in on the node of the restore';
{
    my $r = get("/$E/member/", $s2);
    ok $r->{code} == 200 && $r->{body} =~ /QIWEI-SECRET-PAGE/,
        '... and is served the protected page';
    my $b = get($path, $s2);
    is $b->{code}, 200, 'the stored article body is served';
    is decode_utf8($b->{body}), $body, '... decrypted, byte for byte';
    my $old = get("/$E/member/", $session);
    is $old->{code}, 200, 'a session made before the backup works too';
    my $anon = get($path);
    isnt $anon->{code}, 200, 'anonymous: no body';
    unlike $anon->{body}, qr/QIWEI-RESTORED/, '... none of it';
}
{
    my ($code2) = node_login($node, "/$E/qiwei", $acct{late}, $pw{late});
    is $code2, 303, 'the member disabled after the backup can log in on the '
        . 'restore: the drill shows why revocations are re-applied';
}
my @crash = crash_lines($node->{log}, 0);
is scalar(@crash), 0, 'no crash in the node\'s log' or diag @crash[0 .. 4];
diag sprintf('restore drill: %.1f s', time - $t_start);

done_testing();
