# The mailbox security review (issue 16, docs/mailbox.md): a send's memory
# stays one batch whatever the number of recipients; a send racing a
# member's disable leaves no live copy; admins and the operator destroy any
# message of their enterprise; the database roles do not log bind
# parameters; subrequests get 404; a malformed id gets the mailbox's own
# 404 headers; the operation log never names an unknown account of a
# failed send; the login redirect keeps QiweiLoginURL's query; non-finite
# expiry times, members' to.all and sends from a scan session are refused;
# a text sent with \uXXXX escapes fits; pg_dump holds nothing of a message
# after each kind of destruction; HEAD on reveal is 405.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use Time::HiRes ();
use JSON::PP ();
use Apache::Test ();
use QiweiTest;
use QiweiNode;

ua_reset();

my $E = 't173';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
my $u = uniq();

seed_enterprise($E, "Mailbox review");
admin_two_step_optional($E);
my %pw;
$pw{$_} = activate_member($E, "$_$u")
    for qw(alice bob carol dave erin frank gina hank);
my $eid = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");
sub mid {
    return sql("SELECT member_id FROM members WHERE enterprise_id = $eid"
               . " AND account = '$_[0]'");
}
sub live_copies {
    my ($id, $acct) = @_;
    my $w = defined $acct ? " AND member_id = " . mid($acct) : '';
    return sql("SELECT count(*) FROM mailbox_copies WHERE enterprise_id ="
               . " $eid AND message_id = $id AND body_enc IS NOT NULL$w");
}

my $rootpw = admin_add($E, "root$u", super => 1);
my ($lr, $ac, $acsrf) = api_login($H, "root$u", $rootpw);
is $lr->code, 201, 'admin logs in';

my (%sess, %csrf);
sub member_login {
    my ($who) = @_;
    ($sess{$who}, $csrf{$who}) = mailbox_login($H, "$who$u", $pw{$who});
}
member_login($_) for qw(alice bob);

sub send_admin {
    my (%m) = @_;
    return api('POST', "$A/mailbox/messages", cookie => $ac, csrf => $acsrf,
               json => \%m);
}
sub send_member {
    my ($who, %m) = @_;
    return api('POST', "$A/me/mailbox", cookie => $sess{$who},
               csrf => $csrf{$who}, json => \%m);
}

# --- 1. memory: a max-size text to many recipients ---------------------------
# The children's peak resident memory (VmHWM) before and after: the copies
# are sealed and inserted batch by batch in a scratch pool cleared after
# each batch, so the peak grows by about one batch (8 MiB of hex), not with
# the number of copies (the old code kept every copy's hex and each batch's
# ever longer concatenations: gigabytes here).
sub children_hwm {
    my $pidf = Apache::Test::vars('t_logs') . '/httpd.pid';
    open my $fh, '<', $pidf or return {};
    chomp(my $ppid = <$fh> // '');
    close $fh;
    my %hwm;
    for my $st (glob '/proc/[0-9]*/status') {
        open my $s, '<', $st or next;
        my ($pp, $kb);
        while (<$s>) {
            $pp = $1 if /^PPid:\s+(\d+)/;
            $kb = $1 if /^VmHWM:\s+(\d+)/;
        }
        close $s;
        my ($pid) = $st =~ m{/proc/(\d+)/};
        $hwm{$pid} = $kb if defined $pp && $pp eq $ppid && defined $kb;
    }
    return \%hwm;
}
my $NBULK = 1500;
{
    sql("INSERT INTO members (enterprise_id, account, display_name, status)"
        . " SELECT $eid, 'bulk' || g || '$u', 'Bulk ' || g, 'active'"
        . " FROM generate_series(1, $NBULK) g");
    my $before = children_hwm();
    ok scalar(keys %$before) >= 1, 'the httpd children are found ('
        . scalar(keys %$before) . ')';
    my $text = 'BULK-PHRASE-' . $u . ' ' . ('x' x (65536 - 30));
    $text = substr($text, 0, 65536);
    my $t0 = Time::HiRes::time();
    my ($r, $d) = send_admin(title => "Bulk $u", body => $text,
                             rule => 'kept', to => { all => JSON::PP::true });
    my $took = Time::HiRes::time() - $t0;
    is $r->code, 201, sprintf('a 64 KiB text to everyone (%d+ members): '
                              . '201 in %.1f s', $NBULK, $took)
        or diag $r->content;
    ok $d->{recipients} >= $NBULK, "... $d->{recipients} copies";
    my $after = children_hwm();
    my $growth = 0;
    for my $pid (keys %$after) {
        my $g = $after->{$pid} - ($before->{$pid} // 0);
        $growth = $g if $g > $growth && exists $before->{$pid};
    }
    diag sprintf 'peak RSS growth of the busiest child: %.1f MiB '
        . '(%d copies of 64 KiB)', $growth / 1024, $d->{recipients};
    ok $growth < 160 * 1024, sprintf('... the children\'s peak memory grew'
        . ' by %.1f MiB, bounded by a batch (< 160 MiB; %d MiB of copies)',
        $growth / 1024, $d->{recipients} * 64 / 1024);
    # destroyed for everyone, and the bulk members go
    ($r, $d) = api('DELETE', "$A/mailbox/messages/$d->{id}", cookie => $ac,
                   csrf => $acsrf);
    is $r->code, 200, '... destroyed for everyone';
    sql("DELETE FROM members WHERE enterprise_id = $eid AND account LIKE"
        . " 'bulk%$u'");
}

# --- 2. a send racing a member's status change ---------------------------------
{
    member_login('carol');
    my $s = superuser_session();
    my $cid = mid("carol$u");
    $s->run("BEGIN");
    $s->run("UPDATE members SET status = 'disabled' WHERE enterprise_id ="
            . " $eid AND member_id = $cid");
    my $body = JSON::PP->new->utf8->encode({
        title => "Race $u", body => "RACE-PHRASE-$u", rule => 'kept',
        to => { members => ["carol$u", "dave$u"] } });
    my $sock = raw_send(Apache::Test::vars('port'), 'POST',
                        "$A/mailbox/messages", body => $body,
                        headers => [Cookie => $ac, 'X-CSRF-Token' => $acsrf,
                                    'Content-Type' => 'application/json',
                                    Accept => 'application/json']);
    my $waiting = 0;
    for (1 .. 50) {
        ($waiting) = super_sql("SELECT count(*) FROM pg_stat_activity WHERE"
                               . " datname = 'qiwei' AND wait_event_type"
                               . " = 'Lock' AND pid <> pg_backend_pid()"
                               . " AND query LIKE 'SELECT m.member_id FROM"
                               . " members m%FOR SHARE OF m'");
        last if $waiting;
        select undef, undef, undef, 0.1;
    }
    is $waiting, 1, 'the send waits for the uncommitted disable of carol '
        . '(FOR SHARE OF m)';
    $s->run("COMMIT");
    $s->finish;
    my $res = raw_read($sock, timeout => 30);
    close $sock;
    is $res->{code}, 201, '... and, once it commits, sends: 201';
    my $d = eval { JSON::PP->new->decode($res->{body}) } || {};
    is $d->{recipients}, 1, '... to dave only';
    is sql("SELECT count(*) FROM mailbox_copies WHERE enterprise_id = $eid"
           . " AND member_id = $cid AND body_enc IS NOT NULL"), 0,
        '... carol, disabled, has no live copy';
    is live_copies($d->{id}, "dave$u"), 1, '... dave has his';
}

# --- 3. admins and the operator destroy a member's message ---------------------
{
    my ($r, $d) = send_member('alice', title => "Abuse $u",
                              body => "ABUSE-PHRASE-$u", rule => 'kept',
                              to => { members => ["bob$u"] });
    is $r->code, 201, 'alice (a member) sends to bob';
    my $m1 = $d->{id};
    ($r, $d) = api('DELETE', "$A/mailbox/messages/$m1", cookie => $ac,
                   csrf => $acsrf);
    is $r->code, 200, 'a news admin destroys it for everyone: 200';
    is $d->{destroyed}, 1, '... 1 copy';
    is live_copies($m1), 0, '... bob has no live copy';
    is sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid AND"
           . " action = 'mailbox_destroy' AND object = 'mailbox:$m1' AND"
           . " reason = 'moderation' AND actor LIKE 'admin:%'"
           . " AND (details->>'moderated')::boolean"), 1,
        '... logged as moderation, with the admin as actor';
    ($r, $d) = send_member('alice', title => "Abuse2 $u",
                           body => "ABUSE2-PHRASE-$u", rule => 'kept',
                           to => { members => ["bob$u"] });
    my $m2 = $d->{id};
    my ($rc, $o, $e) = qctl(['mailbox', 'destroy', $E, $m2, '--yes']);
    is $rc, 0, 'qiweictl mailbox destroy of a member\'s message: exit 0'
        or diag "$o$e";
    is live_copies($m2), 0, '... destroyed';
    is sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid AND"
           . " object = 'mailbox:$m2' AND reason = 'moderation' AND actor"
           . " LIKE 'operator:%'"), 1, '... logged as the operator\'s';
    ($r, $d) = send_admin(title => "Adm $u", body => "adm", rule => 'kept',
                          to => { members => ["alice$u"] });
    my $m3 = $d->{id};
    ($r) = api('DELETE', "$A/me/mailbox/sent/$m3", cookie => $sess{alice},
               csrf => $csrf{alice});
    is $r->code, 404, 'a member still destroys only their own: 404';
    is live_copies($m3), 1, '... nothing destroyed';
}

# --- 4. the roles do not log bind parameters -----------------------------------
for my $role (qw(qiwei_app qiwei_owner)) {
    my ($cfg) = super_sql("SELECT array_to_string(setconfig, ' ') FROM"
                          . " pg_db_role_setting s JOIN pg_roles r ON"
                          . " r.oid = s.setrole WHERE r.rolname = '$role'"
                          . " AND s.setdatabase = 0");
    $cfg //= '';
    like $cfg, qr/\blog_parameter_max_length=0\b/,
        "$role: log_parameter_max_length = 0";
    like $cfg, qr/\blog_parameter_max_length_on_error=0\b/,
        "$role: log_parameter_max_length_on_error = 0";
}

# --- 5. subrequests (an SSI include) get 404 -----------------------------------
{
    my ($r, $d) = send_admin(title => "SSI-TITLE-$u", body => 'ssi',
                             rule => 'kept', to => { members => ["alice$u"] });
    is $r->code, 201, 'a message to alice';
    $r = http_get("/$E/ssi/page.html", cookie => $sess{alice});
    is $r->code, 200, 'a page of server-side includes';
    like $r->content, qr/SSI-PAGE-END/, '... processed to its end';
    unlike $r->content, qr/<!--#include/, '... by mod_include';
    my @err = $r->content =~ /error occurred while processing/g;
    is scalar @err, 1, '... whose include of the mailbox page failed (404)';
    like $r->content, qr/no such resource/, '... and whose include of the '
        . 'API embeds its 404 answer';
    unlike $r->content, qr/SSI-TITLE/, '... the included mailbox page and '
        . 'API show no title (404 for a subrequest)';
    unlike $r->content, qr/"items"/, '... nor the API\'s list';
    ($r) = api('GET', "$A/me/mailbox", cookie => $sess{alice});
    like $r->content, qr/SSI-TITLE-\Q$u\E/, 'the same list, asked for '
        . 'directly, has it';
}

# --- 6. a malformed id: the mailbox's own 404 ------------------------------------
for my $bad ('01', '1234567890123456789', '12x') {
    my $r = http_get("$H/mailbox/$bad", cookie => $sess{alice}, html => 1);
    is $r->code, 404, "GET mailbox/$bad: 404";
    like $r->header('Cache-Control') // '', qr/\bno-store\b/, '... no-store';
    is $r->header('Pragma'), 'no-cache', '... Pragma: no-cache';
    ok $r->header('Content-Security-Policy'), '... a CSP';
}

# --- 8. a failed send names no account in the log ----------------------------------
{
    my ($r, $d) = send_admin(title => "X $u", body => 'x', rule => 'kept',
                             to => { members => ["alice$u", "ghost$u"] });
    is $r->code, 404, 'a send to an unknown account: 404';
    like $d->{error}{message}, qr/ghost\Q$u\E/, '... the answer names it';
    is sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid AND"
           . " action = 'mailbox_send' AND result = 'failure'"), 1,
        '... the failure is logged';
    is sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid AND"
           . " details::text LIKE '%ghost%'"), 0,
        '... without the account';
}

# --- 9. list pagination as integers ---------------------------------------------------
{
    my ($r, $d) = api('GET', "$A/me/mailbox?limit=7&offset=0",
                      cookie => $sess{alice});
    is $d->{limit}, 7, 'limit 7 in the list';
    is $d->{offset}, 0, 'offset 0';
}

# --- 10. the login redirect keeps QiweiLoginURL's query --------------------------------
{
    my $r = http_get("$H/mailbox", html => 1);
    is $r->code, 302, 'anonymous: 302';
    is local_location($r), "$H/login?from=mailbox&next=%2F$E%2Fqiwei"
        . "%2Fmailbox", '... to the login URL with &next=';
}

# --- 11. expiry times must be finite ------------------------------------------------
for my $t ('infinity', '-infinity', '9999-12-31 00:00+00') {
    my ($r) = send_admin(title => "Inf $u", body => 'x',
                         rule => 'expires_at', expires_at => $t,
                         to => { members => ["alice$u"] });
    is $r->code, 400, "expires_at $t: 400";
}
is sql("SELECT count(*) FROM mailbox_messages WHERE enterprise_id = $eid"
       . " AND NOT isfinite(expires_at)"), 0, 'no message never expires';

# --- 12. members and to.all; escaped texts --------------------------------------------
{
    my ($r, $d) = send_member('alice', title => "All $u", body => 'x',
                              rule => 'kept', to => { all => JSON::PP::true });
    is $r->code, 403, 'a member sending to.all: 403';
    is $d->{error}{field}, 'to.all', '... field to.all';
    # 65000 ASCII letters as \u0041: 390 KB of JSON for 65000 bytes of text
    my $esc = '\\u0041' x 65000;
    my $json = qq({"title":"Esc $u","rule":"kept","body":"$esc",)
             . qq("to":{"members":["bob$u"]}});
    ($r, $d) = api('POST', "$A/mailbox/messages", cookie => $ac,
                   csrf => $acsrf, body => $json);
    is $r->code, 201, 'a 65000-byte text sent as \\u escapes (6x): 201'
        or diag $r->content;
}

# --- 13. no sending from a scan-to-login session ---------------------------------------
{
    my ($ap, $ss) = scan_login($H, $sess{alice});
    is $ap->code, 200, 'alice approves a scan to log in on another computer';
    ok $ss, '... which gets a session';
    my $sc = "qiwei_session=$ss";
    my ($g, $gd) = api('GET', "$A/me/mailbox", cookie => $sc);
    is $g->code, 200, 'the scan session lists the mailbox';
    my $n = sql("SELECT count(*) FROM mailbox_messages WHERE enterprise_id ="
                . " $eid");
    my ($p, $pd) = api('POST', "$A/me/mailbox", cookie => $sc,
                       csrf => $gd->{csrf},
                       json => { title => "Scan $u", body => 'x',
                                 rule => 'kept',
                                 to => { members => ["bob$u"] } });
    is $p->code, 403, 'it may not send as alice: 403';
    is $pd->{error}{reason}, 'scan_session', '... reason scan_session';
    is sql("SELECT count(*) FROM mailbox_messages WHERE enterprise_id ="
           . " $eid"), $n, '... nothing sent';
}

# --- 14. HEAD on reveal; pg_dump after each kind of destruction -------------------------
{
    my ($r, $d) = send_admin(title => "Head $u", body => 'h', rule => 'kept',
                             to => { members => ["alice$u"] });
    ($r) = api('HEAD', "$A/me/mailbox/$d->{id}/reveal",
               cookie => $sess{alice});
    is $r->code, 405, 'HEAD on reveal: 405';
}
member_login($_) for qw(dave erin);
my @dumped;            # [what, phrase, ciphertext hex, key hex]
sub sent_kept {
    my ($what, $to, %o) = @_;
    my $phrase = "DUMP-\U$what\E-$u";
    $phrase =~ s/\s+/-/g;
    my ($r, $d) = send_admin(title => "Dump $what $u", body => $phrase,
                             rule => $o{rule} // 'kept', %{ $o{more} || {} },
                             to => { members => ["$to$u"] });
    die "send $what: " . $r->code . "\n" unless $r->code == 201;
    my $row = sql("SELECT encode(body_enc, 'hex') || ' ' ||"
                  . " encode(dek_wrapped, 'hex') FROM mailbox_copies"
                  . " WHERE enterprise_id = $eid AND message_id = $d->{id}");
    my ($ct, $key) = split / /, $row;
    push @dumped, [$what, $phrase, $ct, $key];
    return $d->{id};
}
{
    my $ro = sent_kept('read once', 'alice', rule => 'read_once');
    my ($r) = api('POST', "$A/me/mailbox/$ro/reveal", cookie => $sess{alice},
                  csrf => $csrf{alice});
    is $r->code, 200, 'read-once: read';
    my $sd = sent_kept('sender destroy', 'bob');
    ($r) = api('DELETE', "$A/mailbox/messages/$sd", cookie => $ac,
               csrf => $acsrf);
    is $r->code, 200, 'destroyed for everyone by the sender';
    my $gc = sent_kept('gc expiry', 'bob', rule => 'expires_at',
                       more => { expires_in => 1 });
    sent_kept('wipe', 'erin');
    ($r) = api('POST', "$A/mailbox/wipe", cookie => $ac, csrf => $acsrf,
               json => { account => "erin$u" });
    is $r->code, 200, 'erin\'s mailbox wiped';
    sent_kept('disable', 'frank');
    set_status($E, "frank$u", 'disabled');
    sent_kept('depart', 'gina');
    set_status($E, "gina$u", 'departed');
    sent_kept('delete', 'hank');
    qctl_ok(['member', 'delete', $E, "hank$u", '--yes']);
    sleep 2;
    qctl_ok(['--wait', '0', 'gc']);
    is live_copies($gc), 0, 'gc destroyed the expired one';
    is sql("SELECT count(*) FROM mailbox_copies WHERE enterprise_id = $eid"
           . " AND body_enc IS NOT NULL AND message_id IN (SELECT message_id"
           . " FROM mailbox_messages WHERE title LIKE 'Dump %')"), 0,
        'no live copy of the dump messages is left';
    my $dump = pg_dump();
    ok length($dump) > 1000, 'pg_dump ran';
    for my $x (@dumped) {
        my ($what, $phrase, $ct, $key) = @$x;
        ok length($key // '') == 130 && length($ct // '') > 0,
            "$what: a copy was stored";
        ok index($dump, $key) < 0, "$what: the wrapped key is not in the dump";
        ok index($dump, $ct) < 0, "$what: nor the ciphertext";
        ok index($dump, $phrase) < 0, "$what: nor the text";
    }
}

done_testing;
