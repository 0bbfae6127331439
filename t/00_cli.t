# qiweictl basics against the test database: commands, output, exit codes
# (0 ok, 1 runtime/database error, 2 usage or invalid input, 3 not found,
# 4 conflict), and that it never prints secrets in errors.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use Encode qw(decode_utf8);
use QiweiTest;

my $u = uniq();
my $E = "c00$u";

sub run_is {
    my ($args, $want, $name, $stdin) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my ($rc, $o, $e) = qctl($args, $stdin);
    is $rc, $want, "$name: exit $want" or diag "stdout: $o\nstderr: $e";
    return ($rc, $o, $e);
}

# --- usage --------------------------------------------------------------------
{
    my ($rc, $o, $e) = qctl([]);
    is $rc, 2, 'no command: exit 2';
    like "$o$e", qr/usage/i, '... prints usage';
    ($rc, $o, $e) = qctl(['--help']);
    is $rc, 0, '--help: exit 0';
    like $o, qr/member add/, '... lists commands';
    run_is(['no-such-command'], 2, 'unknown command');
    run_is(['member', 'add', $E], 2, 'missing arguments');
    run_is(['enterprise', 'list', '--bogus'], 2, 'unknown option');
}

# --- schema -------------------------------------------------------------------
run_is(['migrate', '--sql-dir', "$ENV{QIWEI_SQLDIR}"], 0,
       'migrate again (nothing to do)') if $ENV{QIWEI_SQLDIR};
{
    my ($rc, $o) = run_is(['schema-version'], 0, 'schema-version');
    my ($v) = $o =~ /(\d+)/;
    ok defined $v && $v >= 1, "... at least version 1 (got '$o')";
}

# --- enterprises, departments, roles --------------------------------------------
run_is(['enterprise', 'add', $E, '命令行测试'], 0, 'enterprise add');
{
    my ($rc, $o, $e) = run_is(['enterprise', 'add', $E, 'again'], 4,
                              'enterprise add twice');
    like $e, qr/enterprise '\Q$E\E' already exists/, '... names it';
}
run_is(['enterprise', 'add', 'Bad Code!', 'x'], 2, 'enterprise add, bad code');
{
    my ($rc, $o) = run_is(['enterprise', 'list'], 0, 'enterprise list');
    like decode_utf8($o), qr/\Q$E\E.*命令行测试/, '... shows the new one';
}
run_is(['dept', 'add', $E, 'hq', '总部'], 0, 'dept add hq');
run_is(['dept', 'add', $E, 'eng', '研发', '--parent', 'hq'], 0,
       'dept add eng under hq');
{
    my ($rc, $o, $e) = run_is(['dept', 'add', $E, 'eng', 'again'], 4,
                              'dept add twice');
    like $e, qr/department 'eng' already exists in enterprise '\Q$E\E'/,
        '... names it';
}
run_is(['dept', 'add', $E, 'x1', 'X', '--parent', 'nope'], 3,
       'dept add under an unknown parent');
run_is(['dept', 'add', "zz$u", 'x1', 'X'], 3, 'dept add in an unknown enterprise');
{
    my ($rc, $o) = run_is(['dept', 'list', $E], 0, 'dept list');
    like $o, qr/\beng\b/, '... has eng';
    like $o, qr/\bhq\b/, '... has hq';
}
run_is(['role', 'add', $E, 'manager'], 0, 'role add');
{
    my ($rc, $o, $e) = run_is(['role', 'add', $E, 'manager'], 4,
                              'role add twice');
    like $e, qr/role 'manager' already exists in enterprise '\Q$E\E'/,
        '... names it';
}

# --- members ------------------------------------------------------------------
my $A = "zhang$u";
{
    my ($rc, $o) = run_is(['member', 'add', $E, $A, '--name', '张三',
                           '--dept', 'eng', '--mobile', '13800138000'],
                          0, 'member add');
    like $o, qr/activation link: \S+[?&]t=[A-Za-z0-9_-]{32,}/,
        '... prints an activation link';
}
{
    my ($rc, $o, $e) = run_is(['member', 'add', $E, $A, '--name', 'x'], 4,
                              'member add twice');
    like $e, qr/member '\Q$A\E' already exists in enterprise '\Q$E\E'/,
        '... names it';
}
run_is(['member', 'add', $E, 'Bad Account', '--name', 'x'], 2,
       'member add, bad account');
run_is(['member', 'add', $E, "y$u", '--name', 'x', '--dept', 'nope'], 3,
       'member add, unknown department');
run_is(['member', 'add', $E, "y$u"], 2, 'member add without --name');
{
    my ($rc, $o) = run_is(['member', 'show', $E, $A], 0, 'member show');
    like $o, qr/^status:\s+invited$/m, '... invited';
    like $o, qr/^mobile:\s+13800138000$/m, '... mobile decrypted with the key';
    like $o, qr/^departments:.*\beng\b/m, '... in eng';
}
run_is(['member', 'show', $E, "nobody$u"], 3, 'member show, unknown');
run_is(['member', 'set-password', $E, $A], 2, 'set-password, empty stdin', '');
run_is(['member', 'set-password', $E, $A], 2, 'set-password, too short',
       "short\n");
run_is(['member', 'set-password', $E, $A], 0, 'set-password',
       strong_password() . "\n");
{
    my ($rc, $o) = run_is(['member', 'list', $E], 0, 'member list');
    like $o, qr/^\d+\t\Q$A\E\tactive\t/m, '... now active';
    unlike $o, qr/13800138000/, '... list shows no mobile';
}
run_is(['member', 'set-status', $E, $A, 'bogus'], 2, 'set-status bogus');
run_is(['member', 'set-status', $E, "nobody$u", 'disabled'], 3,
       'set-status, unknown member');
run_is(['member', 'set-status', $E, $A, 'disabled'], 0, 'set-status disabled');
run_is(['member', 'grant-role', $E, $A, 'nope'], 3, 'grant unknown role');
run_is(['member', 'grant-role', $E, $A, 'manager'], 0, 'grant-role');
run_is(['member', 'move', $E, $A, 'hq'], 0, 'move to hq');
{
    my ($rc, $o) = run_is(['member', 'show', $E, $A], 0, 'member show again');
    like $o, qr/^status:\s+disabled$/m, '... disabled';
    like $o, qr/^roles:.*\bmanager\b/m, '... manager';
    like $o, qr/^departments:\s+hq$/m, '... only in hq';
}
run_is(['member', 'delete', $E, $A], 2, 'delete without --yes');
run_is(['member', 'show', $E, $A], 0, '... member still there');
run_is(['member', 'delete', $E, $A, '--yes'], 0, 'delete --yes');
run_is(['member', 'show', $E, $A], 3, '... member gone');
run_is(['audit', 'verify', $E], 0, 'audit verify');

# --- bad environment ------------------------------------------------------------
{
    local $ENV{QIWEI_DSN} =
        'host=127.0.0.1 port=1 dbname=x user=x password=TopSecret123 connect_timeout=2';
    my ($rc, $o, $e) = qctl(['enterprise', 'list']);
    is $rc, 1, 'unreachable database: exit 1';
    unlike "$o$e", qr/TopSecret123/, '... the password is not printed';
}
{
    my $dir = tempdir(CLEANUP => 1);
    my $k = "$dir/loose.key";
    copy($ENV{QIWEI_KEYFILE}, $k) or die "copy: $!";
    chmod 0644, $k;
    local $ENV{QIWEI_KEYFILE} = $k;
    my ($rc, $o, $e) = qctl(['member', 'add', $E, "k$u", '--name', 'K']);
    isnt $rc, 0, 'key file readable by others: refused';
    my $key = do { open my $f, '<', $k or die; local $/; <$f> };
    my ($b64) = $key =~ /^key\s+\d+\s+(\S+)/m;
    unlike "$o$e", qr/\Q$b64\E/, '... and the key is not printed';
}
run_is(['member', 'show', $E, "k$u"], 3, '... nothing was added');
{
    my $dir = tempdir(CLEANUP => 1);
    my ($rc) = run_is(['keygen', "$dir/new.key"], 0, 'keygen');
    my @st = stat "$dir/new.key";
    is sprintf('%o', $st[2] & 07777), '600', '... mode 0600';
    run_is(['keygen', "$dir/new.key"], 4, 'keygen does not overwrite')
        if -e "$dir/new.key";
}

done_testing();
