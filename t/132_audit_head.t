# Issue 13: a cut-off tail of the operation log.  The MAC chain shows every
# edited, inserted or missing row except the newest ones: rows removed from
# the end (an asynchronous standby promoted before it had them, a restore
# from an older dump, a superuser deleting with the triggers off) leave a
# shorter chain that verifies.  `qiweictl audit head ENT` prints the newest
# row's SEQ:MAC to keep outside the database; `audit verify ENT SEQ:MAC`
# then also checks that this row is still there, unchanged.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use QiweiTest;
use QiweiNode qw(super_sql);

my $u = uniq();
my $E = "h132$u";
seed_enterprise($E, 'Audit head');
add_member($E, "m${u}$_") for 1 .. 3;

my ($rc, $o, $e) = qctl(['audit', 'head', $E]);
is $rc, 0, 'audit head: exit 0' or diag $e;
my ($ent, $head) = split ' ', $o;
is $ent, $E, '... names the enterprise';
like $head, qr/^\d+:[0-9a-f]{64}$/, "... and SEQ:MAC ($head)";
my ($seq) = $head =~ /^(\d+):/;
my $rows = sql("SELECT count(*) FROM audit_log a JOIN enterprises e"
               . " USING (enterprise_id) WHERE e.code = '$E'");
is $seq, $rows, '... the newest row';

($rc, $o, $e) = qctl(['audit', 'verify', $E, $head]);
is $rc, 0, 'verify with the head just recorded: exit 0' or diag "$o$e";

# more rows: the recorded head is still in the chain
add_member($E, "m${u}4");
($rc, $o, $e) = qctl(['audit', 'verify', $E, $head]);
is $rc, 0, 'later rows: the recorded head still verifies' or diag "$o$e";
($rc, my $o2) = qctl(['audit', 'head', $E]);
my (undef, $head2) = split ' ', $o2;
my ($seq2) = $head2 =~ /^(\d+):/;
is $seq2, $seq + 1, 'the head moved on by one row';

# cut the tail: the superuser deletes the newest two rows with the triggers
# off (replica mode), as a lost tail would look
my $eid = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");
super_sql("SET session_replication_role = replica; DELETE FROM audit_log"
          . " WHERE enterprise_id = $eid AND seq > " . ($seq2 - 2));
($rc, $o, $e) = qctl(['audit', 'verify', $E]);
is $rc, 0, 'without a head, the shorter chain verifies (the cut is '
    . 'invisible to the chain)' or diag "$o$e";
($rc, $o, $e) = qctl(['audit', 'verify', $E, $head2]);
is $rc, 1, 'with the recorded head: exit 1';
like $o, qr/^seq $seq2: the recorded head is seq $seq2, the log ends at seq /m,
    '... naming the cut-off rows' or diag $o;
like $e, qr/BROKEN/, '... BROKEN on stderr';

# new rows reuse the cut seqs: the head's seq is there again, but not the
# recorded row
add_member($E, "m${u}$_") for 5 .. 6;
($rc, $o, $e) = qctl(['audit', 'verify', $E]);
is $rc, 0, 'after new rows the chain verifies again by itself';
($rc, $o, $e) = qctl(['audit', 'verify', $E, $head2]);
is $rc, 1, 'with the recorded head: exit 1';
like $o, qr/^seq $seq2: row $seq2 is not the recorded head/m,
    '... row SEQ is another row now' or diag $o;

# a malformed head is a usage error, before anything is read
for my $bad ('12', "x:$head", '0:' . ('a' x 64), '5:' . ('A' x 64),
             '5:' . ('a' x 63)) {
    ($rc) = qctl(['audit', 'verify', $E, $bad]);
    is $rc, 2, "head '" . substr($bad, 0, 12) . "...': usage error (2)";
}

done_testing();
