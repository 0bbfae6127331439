# Read once under concurrency (R10, docs/mailbox.md): 32 reveal POSTs of one
# read-once message by its recipient, sent at once to two httpd nodes that
# share the database: exactly one answer carries the body, every other one
# is the documented 410 "already_read"; never two bodies.  Then the same
# race between reveal and the sender's destruction for everyone, and wipes
# racing destructions of the same copies.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use QiweiTest;
use QiweiNode;

ua_reset();

my $E = 't171';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
my $u = uniq();
seed_enterprise($E, 'Mailbox race');
admin_two_step_optional($E);
my $pw = activate_member($E, "rita$u");

# two nodes, copies of the test server's configuration (t171's handler
# is in it), one child of 16 threads each
my $na = start_node(name => 'n171a', threads => 16);
my $nb = start_node(name => 'n171b', threads => 16);

my ($code, $s) = node_login($na, $H, "rita$u", $pw);
ok $s, "rita logs in on node A ($code)";
my $cookie = "qiwei_session=$s";
my $list = raw_request($nb, 'GET', "$A/me/mailbox", timeout => 15,
                       headers => [Cookie => $cookie,
                                   Accept => 'application/json']);
is $list->{code}, 200, '... and lists her mailbox on node B';
my $csrf = eval { JSON::PP->new->decode($list->{body})->{csrf} };
ok $csrf, '... with the CSRF token of her session';

sub send_ro {
    my ($tag) = @_;
    my $o = qctl_ok(['--wait', '0', 'mailbox', 'send', $E, '--title',
                     "Race $tag $u", '--rule', 'read_once', '--to',
                     "rita$u"], "RACE-BODY-$tag-$u");
    my ($id) = $o =~ /message (\d+) sent/;
    return $id;
}

# 32 requests: all sent before any answer is read
sub race {
    my ($id, %o) = @_;
    my @socks;
    for my $i (0 .. 31) {
        push @socks, raw_send($i % 2 ? $nb : $na, 'POST',
                              "$A/me/mailbox/$id/reveal",
                              headers => [Cookie => $cookie,
                                          'X-CSRF-Token' => $csrf,
                                          Accept => 'application/json']);
        $o{during}->() if $o{during} && $i == 15;
    }
    return map { raw_read($_, timeout => 60) } @socks;
}

{
    my $id = send_ro('one');
    ok $id, 'a read-once message to rita';
    my @r = race($id);
    my @ok = grep { $_->{code} == 200 } @r;
    my @gone = grep { $_->{code} == 410 } @r;
    my @bodies = grep { $_->{body} =~ /RACE-BODY-one/ } @r;
    is scalar @r, 32, '32 answers';
    is scalar @ok, 1, 'exactly one 200';
    is scalar @bodies, 1, 'exactly one body';
    is scalar @gone, 31, 'every other answer is 410'
        or diag join ', ', map { $_->{code} } @r;
    is scalar(grep { $_->{body} =~ /"reason":"already_read"/ } @gone), 31,
        '... "already_read"';
    my %by_node;
    for my $i (0 .. 31) {
        $by_node{ $i % 2 ? 'B' : 'A' }++ if $r[$i]{code} =~ /^(200|410)$/;
    }
    is_deeply \%by_node, { A => 16, B => 16 }, '... 16 answered by each node';
    is sql("SELECT count(*) FROM mailbox_copies WHERE message_id = $id"
           . " AND body_enc IS NULL AND destroy_reason = 'read_once'"), 1,
        'the copy is destroyed';
    is sql("SELECT count(*) FROM audit_log WHERE action = 'mailbox_read'"
           . " AND object = 'mailbox:$id'"), 1, 'one read in the log';
}

{
    # the sender destroys it while the reveals are under way: each answer
    # is the body (at most once) or a 410, never anything else
    my $id = send_ro('two');
    my @r = race($id, during => sub {
        qctl_ok(['--wait', '0', 'mailbox', 'destroy', $E, $id, '--yes']);
    });
    my @ok = grep { $_->{code} == 200 } @r;
    ok @ok <= 1, 'reveal racing the sender\'s destruction: at most one 200 ('
        . scalar(@ok) . ')';
    is scalar(grep { $_->{code} == 410 } @r), 32 - @ok,
        '... every other answer 410';
    is sql("SELECT count(*) FROM mailbox_copies WHERE message_id = $id"
           . " AND body_enc IS NOT NULL"), 0, '... and nothing is left';
}

{
    # wipes of two mailboxes and the destruction of each message they share,
    # all at once: every one succeeds (copies are locked in one order, so
    # no deadlock) and nothing is left
    activate_member($E, "sam$u");
    my @ids;
    for my $i (1 .. 20) {
        my $o = qctl_ok(['--wait', '0', 'mailbox', 'send', $E, '--title',
                         "Bulk $i $u", '--rule', 'kept', '--to',
                         "rita$u,sam$u"], "BULK-$i-$u");
        push @ids, $o =~ /message (\d+)/;
    }
    is scalar @ids, 20, '20 messages to rita and sam';
    my @jobs = ((map { ['mailbox', 'destroy', $E, $_, '--yes'] }
                 reverse @ids[10 .. 19]),
                ['mailbox', 'wipe', $E, "rita$u", '--yes'],
                (map { ['mailbox', 'destroy', $E, $_, '--yes'] }
                 @ids[0 .. 9]),
                ['mailbox', 'wipe', $E, "sam$u", '--yes']);
    my @pids;
    for my $job (@jobs) {
        my $pid = fork // die "fork: $!\n";
        if (!$pid) {
            my ($rc, $o, $e) = qctl(['--wait', '0', @$job]);
            print STDERR "@$job: $e" if $rc;
            exit $rc;
        }
        push @pids, $pid;
    }
    my @fail;
    for (@pids) {
        waitpid $_, 0;
        push @fail, $? >> 8 if $?;
    }
    is scalar @fail, 0, scalar(@jobs) . ' wipes and destructions at once: '
        . 'all succeed' or diag "exit codes: @fail";
    my $list = join ',', @ids;
    is sql("SELECT count(*) FROM mailbox_copies WHERE message_id IN ($list)"
           . " AND body_enc IS NOT NULL"), 0, '... nothing is left';
    is sql("SELECT count(*) FROM mailbox_copies WHERE message_id IN ($list)"
           . " AND state = 'destroyed'"), 40, '... all 40 copies destroyed';
}

is scalar(crash_lines($na->{log}, 0)) + scalar(crash_lines($nb->{log}, 0)),
    0, 'no child crashed';

done_testing;
