# The operation log's chain is enforced by the database and checked in full
# by `qiweictl audit verify`: rows with seq 0 or below, a gap, a duplicate,
# or a key older than an earlier row's are refused when the application role
# inserts them; a superuser who disables the triggers can still insert
# (though not seq < 1 or a duplicate, which the CHECK and the primary key
# refuse), and then verify names each such row by its exact seq and exits 1.
# Rows of the previous MAC format (written before schema version 10) still
# verify, and new rows chain on them.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use MIME::Base64 qw(decode_base64);
use Digest::SHA qw(hmac_sha256);
use QiweiTest;

my $u = uniq();
my $E = "a130$u";

# --- psql as a given role --------------------------------------------------

sub super_dsn {
    my $d = $ENV{QIWEI_PG_SUPER_DSN};
    if (!$d && open my $fh, '<', ($ENV{QIWEI_TEST_STATE} // '') . '/pg.env') {
        while (<$fh>) {
            $d = $1 if /^export QIWEI_PG_SUPER_DSN='([^']*)'/;
        }
    }
    die "no superuser DSN\n" unless $d;
    $d =~ s/\bdbname=\S+/dbname=qiwei/;
    return $d;
}

my %DSN = (app => $ENV{QIWEI_TEST_DSN}, super => super_dsn());

# Returns (ok, stdout, stderr).
sub psql_as {
    my ($who, $query) = @_;
    my $psql = $ENV{QIWEI_PG_BINDIR} ? "$ENV{QIWEI_PG_BINDIR}/psql" : 'psql';
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, $psql, '-X', '-q', '-At',
                    '-v', 'ON_ERROR_STOP=1', '-d', $DSN{$who}, '-c', $query);
    close $in;
    local $/;
    my $o = <$out> // '';
    my $e = <$err> // '';
    waitpid $pid, 0;
    return ($? == 0, $o, $e);
}

# The superuser "bypassing triggers": the insert trigger does not fire in
# replica mode (the CHECK and the primary key still apply).
sub as_replica {
    my ($query) = @_;
    return psql_as('super', "SET session_replication_role = replica; $query");
}

# --- rows made by hand -------------------------------------------------------

my %master;     # kid -> master key, from the key files used
sub load_keys {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    while (<$fh>) {
        $master{$1} = decode_base64($2) if /^key\s+(\d+)\s+(\S+)/;
    }
}
load_keys($ENV{QIWEI_KEYFILE});

# The current key of a key file: its "current" line, else its highest kid
# (util/keyring.h).
sub current_kid {
    my ($file) = @_;
    my ($cur, $max) = (undef, 0);
    open my $fh, '<', $file or die "$file: $!";
    while (<$fh>) {
        $cur = $1 if /^current\s+(\d+)/;
        $max = $1 if /^key\s+(\d+)\s/ && $1 > $max;
    }
    return $cur // $max;
}
# This test's "older" key is the shared key file's current one, whatever
# the tests before it did to the file (t/72_store.t rotates it); the
# "newer" one ($K2) is what the rotation of a private copy below adds.
my $K1 = current_kid($ENV{QIWEI_KEYFILE});
my $K2;

sub hkdf {    # HKDF-SHA256, no salt, one block (util/keyring.c)
    my ($ikm, $purpose) = @_;
    my $prk = hmac_sha256($ikm, "\0" x 32);
    return hmac_sha256("mod_qiwei $purpose\x01", $prk);
}

sub lp { defined $_[0] ? pack('N', length $_[0]) . $_[0] : "\xff" x 4 }

# util/auditmac.h, written independently here
sub row_mac {
    my ($version, $kid, $prev, @f) = @_;
    my $in = lp($prev);
    $in .= lp($version) . lp($kid) if $version >= 2;
    $in .= lp($_) for @f;
    return hmac_sha256($in, hkdf($master{$kid}, "audit-chain v$version"));
}

my $EID;        # enterprise $E's id
my $AT = '2026-12-06T00:00:00.000000Z';

# INSERT of a row of enterprise $E; mac => 'valid' computes the real MAC
# (what a holder of key $kid could write), else it is 32 bytes of junk.
# version: the MAC format (2); default_version: leave mac_version out, as a
# module older than schema version 10 does.
sub row_sql {
    my ($seq, %o) = @_;
    my $kid = $o{kid} // $K1;
    my $v = $o{version} // 2;
    my $mac = "\x55" x 32;
    if (($o{mac} // '') eq 'valid') {
        my ($prev) = sql("SELECT encode(mac, 'hex') FROM audit_log WHERE "
                         . "enterprise_id = $EID AND seq = " . ($seq - 1));
        $mac = row_mac($v, $kid, pack('H*', $prev // ''), $EID, $seq, $AT,
                       'forger', undef, undef, undef, undef, 'directory',
                       'create', undef, 'success', undef, undef);
    }
    my $ver = $o{default_version} ? '' : ', mac_version';
    my $verv = $o{default_version} ? '' : ", $v";
    return "INSERT INTO audit_log (enterprise_id, seq, at, actor, module, "
        . "action, result, key_id, mac$ver) VALUES ($EID, $seq, '$AT', "
        . "'forger', 'directory', 'create', 'success', $kid, "
        . "decode('" . unpack('H*', $mac) . "', 'hex')$verv)";
}

sub last_seq {
    return sql("SELECT max(seq) FROM audit_log WHERE enterprise_id = $EID");
}

# --- verify ---------------------------------------------------------------

my @expect;     # the findings verify must report, in seq order

sub verify_is {
    my ($name, %o) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my ($rc, $out, $err) = qctl(['audit', 'verify', $E, @{ $o{args} || [] }]);
    my @got = grep { /^seq / } split /\n/, $out;
    my @want = map { "seq $_->[0]: $_->[1]" }
               sort { $a->[0] <=> $b->[0] } @expect;
    if (!@expect) {
        is $rc, 0, "$name: verify exits 0" or diag "$out$err";
        like $out, qr/^audit chain of \Q$E\E verified: (\d+) rows, seq 1 to \1$/m,
            "$name: verified, rows counted";
    }
    else {
        is $rc, 1, "$name: verify exits 1";
        like $err, qr/audit chain of \Q$E\E is BROKEN: ${\ scalar @expect} problems? in \d+ rows/,
            "$name: BROKEN with the number of problems";
    }
    is_deeply \@got, \@want, "$name: each problem at its seq"
        or diag "stdout: $out\nstderr: $err";
    return ($out, $err);
}

# --- a genuine chain ---------------------------------------------------------

qctl_ok(['enterprise', 'add', $E, 'audit integrity']);
$EID = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");
qctl_ok(['dept', 'add', $E, "d$_", "dept $_"]) for 1 .. 3;
my $n = last_seq();
ok $n >= 4, "a chain of $n rows";
verify_is('genuine chain');
is sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $EID AND "
       . "mac_version <> 2"), 0, 'new rows are MAC format 2';

# --- concurrent writers: the trigger and the writer share one lock ---------
{
    my @pids;
    for my $w (1 .. 4) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $bad = 0;
            for my $i (1 .. 5) {
                my ($rc) = qctl(['dept', 'add', $E, "w${w}n$i", 'w']);
                $bad++ if $rc != 0;
            }
            exit $bad;
        }
        push @pids, $pid;
    }
    my $failed = 0;
    for (@pids) { waitpid $_, 0; $failed += $? >> 8 }
    is $failed, 0, '4 concurrent writers, 20 writes: none refused';
    is last_seq(), $n + 20, '... 20 more rows';
    $n = last_seq();
}
verify_is('after concurrent writers');

# --- the application role cannot forge ---------------------------------------
for my $t ([0, 'seq 0'], [-1, 'seq -1'], [$n + 2, 'a gap'],
           [$n, 'a duplicate'], [$n + 1000, 'far ahead']) {
    my ($ok, $o, $e) = psql_as('app', row_sql($t->[0]));
    ok !$ok, "application role, $t->[1] (seq $t->[0]): refused";
    like $e, qr/is not the next \(expected ${\ ($n + 1)}\)|audit_log_seq_from_1|audit_log_pkey/,
        '... by the schema' or diag $e;
}
{
    my ($ok, $o, $e) = psql_as('app', row_sql($n + 1) =~ s/, $K1, decode/, NULL, decode/r);
    ok !$ok, 'application role, no key id: refused';
    like $e, qr/has no key id or MAC/, '... by the trigger';
    # UPDATE and DELETE were never granted; the trigger refuses them anyway
    ($ok, $o, $e) = psql_as('super', "UPDATE audit_log SET action = 'x' "
                            . "WHERE enterprise_id = $EID AND seq = 1");
    ok !$ok, 'even a superuser cannot UPDATE with triggers on';
    like $e, qr/append-only/, '... append-only';
}
is last_seq(), $n, 'nothing was added';
verify_is('after the refused inserts');

# --- the previous format still verifies; new rows chain on it ---------------
# (a format-1 row: no mac_version given, the column default 1 applies)
{
    my ($ok, $o, $e) = psql_as('app', row_sql($n + 1, mac => 'valid',
                                              version => 1,
                                              default_version => 1));
    ok $ok, 'a format-1 row (as an older module writes it) is accepted'
        or diag $e;
    is sql("SELECT mac_version FROM audit_log WHERE enterprise_id = $EID "
           . "AND seq = " . ($n + 1)), 1, '... as format 1';
    qctl_ok(['dept', 'add', $E, 'd4', 'dept 4']);
    $n = last_seq();
    verify_is('format 1 then format 2');
}

# --- keys only move forward -----------------------------------------------------
my $dir = tempdir(CLEANUP => 1);
my $k2 = "$dir/rotated.key";
copy($ENV{QIWEI_KEYFILE}, $k2) or die "copy: $!";
chmod 0600, $k2;
qctl_ok(['keygen', '--rotate', $k2]);
load_keys($k2);
$K2 = current_kid($k2);
cmp_ok $K2, '>', $K1, "the private copy's new key $K2 is newer than $K1";
qctl_ok(['-k', $k2, 'dept', 'add', $E, 'd5', 'dept 5']);
$n = last_seq();
my $k2seq = $n;
is sql("SELECT key_id FROM audit_log WHERE enterprise_id = $EID AND seq = $n"),
   $K2, 'after rotation the new row uses the new key';
{
    my ($ok, $o, $e) = psql_as('app', row_sql($n + 1, kid => $K1,
                                              mac => 'valid'));
    ok !$ok, 'application role, the older key after the newer (valid MAC):'
        . ' refused';
    like $e, qr/uses key $K1, older than key $K2/, '... by the trigger';
    # the old key file: qiweictl keeps the chain's newer key or refuses
    my ($rc, $out, $err) = qctl(['dept', 'add', $E, 'd6', 'dept 6']);
    isnt $rc, 0, 'a writer that only has the older key cannot append after '
        . 'the newer';
    like $err, qr/already uses key $K2, newer than the key file's current key $K1/,
        '... and says why';
}
{
    my ($rc, $out, $err) = qctl(['-k', $k2, 'audit', 'verify', $E]);
    is $rc, 0, 'verify with the rotated key file: exit 0' or diag "$out$err";
}

# --- an inserted row with a valid seq but no valid MAC ---------------------------
{
    my ($ok, $o, $e) = psql_as('app', row_sql($n + 1, kid => $K2));
    ok $ok, 'application role, the next seq with a junk MAC: the database '
        . 'cannot tell' or diag $e;
    $n++;
    push @expect, [$n, 'MAC does not match (row edited, inserted, or rows '
                       . 'moved)'];
}

# --- a superuser with the triggers off -----------------------------------------
for my $t ([0, 'seq 0', qr/audit_log_seq_from_1/],
           [-1, 'seq -1', qr/audit_log_seq_from_1/],
           [$n, 'a duplicate', qr/audit_log_pkey/]) {
    my ($ok, $o, $e) = as_replica(row_sql($t->[0], kid => $K2));
    ok !$ok, "superuser, triggers off, $t->[1]: refused";
    like $e, $t->[2], '... by the CHECK or the primary key' or diag $e;
}
{
    # a gap: two rows skipped
    my ($ok, $o, $e) = as_replica(row_sql($n + 3, kid => $K2));
    ok $ok, 'superuser, triggers off, a gap: inserted' or diag $e;
    push @expect, [$n + 3, 'rows ' . ($n + 1) . ' to ' . ($n + 2)
                           . ' before it are missing'];
    $n += 3;
    # a leaked retired key: a perfectly valid MAC under the older key,
    # after the newer
    ($ok, $o, $e) = as_replica(row_sql($n + 1, kid => $K1, mac => 'valid'));
    ok $ok, 'superuser, triggers off, the older key after the newer: '
        . 'inserted' or diag $e;
    $n++;
    push @expect, [$n, "key $K1 is older than key $K2 of row $k2seq (keys only "
                       . 'move forward)'];
    # an edited genuine row: reported once, the row after it still verifies
    ($ok, $o, $e) = as_replica("UPDATE audit_log SET object = 'edited' "
                               . "WHERE enterprise_id = $EID AND seq = 2");
    ok $ok, 'superuser, triggers off, edits row 2' or diag $e;
    push @expect, [2, 'MAC does not match (row edited, inserted, or rows '
                      . 'moved)'];
    # a deleted genuine row: the row after it is reported, once
    ($ok, $o, $e) = as_replica("DELETE FROM audit_log WHERE enterprise_id = "
                               . "$EID AND seq = 4");
    ok $ok, 'superuser, triggers off, deletes row 4' or diag $e;
    push @expect, [5, 'row 4 before it is missing'];
}

# seq < 1 gets past the CHECK only if the constraint is dropped (or the row
# predates schema version 10): verify still names such rows
my $dropped;
END {
    if ($dropped) {
        as_replica("DELETE FROM audit_log WHERE seq < 1");
        psql_as('super', 'ALTER TABLE audit_log ADD CONSTRAINT '
                . 'audit_log_seq_from_1 CHECK (seq >= 1)');
    }
}
{
    my ($ok, $o, $e) = psql_as('super', 'ALTER TABLE audit_log DROP '
                               . 'CONSTRAINT audit_log_seq_from_1');
    ok $ok, 'superuser drops the CHECK' or diag $e;
    $dropped = 1;
    for my $s (0, -1) {
        ($ok, $o, $e) = as_replica(row_sql($s, kid => $K2));
        ok $ok, "superuser, triggers off, no CHECK: seq $s inserted"
            or diag $e;
        push @expect, [$s, 'seq < 1: not part of the chain (inserted by '
                           . 'hand)'];
    }
}

{
    my ($rc, $o, $e) = qctl(['-k', $k2, 'audit', 'verify', $E]);
    my @got = grep { /^seq / } split /\n/, $o;
    my @want = map { "seq $_->[0]: $_->[1]" }
               sort { $a->[0] <=> $b->[0] } @expect;
    is $rc, 1, 'verify of the forged chain: exit 1';
    is_deeply \@got, \@want, '... every problem at its exact seq, nothing '
        . 'else' or diag "stdout: $o\nstderr: $e";
    my $rows = sql("SELECT count(*) FROM audit_log WHERE enterprise_id = "
                   . $EID);
    like $e, qr/audit chain of \Q$E\E is BROKEN: ${\ scalar @expect} problems in $rows rows/,
        '... counts problems and rows';
}
{
    my ($rc, $o, $e) = qctl(['audit', 'list', $E]);
    is $rc, 0, 'audit list: exit 0';
    my @lines = split /\n/, $o;
    like $lines[0], qr/^-1!\t/, '... seq -1 marked as not genuine';
    like $lines[1], qr/^0!\t/, '... seq 0 marked as not genuine';
    like $lines[2], qr/^1\t/, '... then the chain from 1';
    like $e, qr/2 rows marked '!' \(seq < 1\) are not part of the chain/,
        '... and says so';
}
{
    # the database still refuses the next forgery and takes the next row
    my ($ok, $o, $e) = psql_as('app', row_sql($n + 2, kid => $K2));
    ok !$ok, 'after all that, the application role still cannot skip';
    qctl_ok(['-k', $k2, 'dept', 'add', $E, 'd7', 'dept 7']);
    is last_seq(), $n + 1, '... and the next real row follows the last one';
}

# restore the CHECK now (the END block is the fallback)
{
    my ($ok, $o, $e) = as_replica("DELETE FROM audit_log WHERE seq < 1");
    ok $ok, 'clean up the rows below 1' or diag $e;
    ($ok, $o, $e) = psql_as('super', 'ALTER TABLE audit_log ADD CONSTRAINT '
                            . 'audit_log_seq_from_1 CHECK (seq >= 1)');
    ok $ok, 'the CHECK is back, validated' or diag $e;
    $dropped = 0 if $ok;
}

done_testing();
