# The private mailbox (R10, docs/mailbox.md) through its JSON API and
# qiweictl: each rule (read once, expires at, kept), the sender's and the
# recipient's destruction, the admin's wipe, the wipe when a member is
# disabled, departs or is deleted, expiry by `qiweictl gc` and on read,
# cross-enterprise refusals, oversized messages, members sending, the
# operation log, and pg_dump after destruction.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use Encode qw(encode_utf8);
use JSON::PP ();
use QiweiTest;

ua_reset();

my $E = 't170';
my $X = 't170x';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
my $AX = "/$X/qiwei/api/v1";
my $u = uniq();

for my $e ($E, $X) {
    seed_enterprise($e, "Mailbox $e");
    admin_two_step_optional($e);
}
seed_department($E, "hq$u", 'HQ');
seed_department($E, "eng$u", 'Eng', "hq$u");
seed_role($E, "boss$u");

my %pw;
$pw{alice} = activate_member($E, "alice$u", depts => "eng$u");
$pw{bob}   = activate_member($E, "bob$u", depts => "hq$u");
$pw{carol} = activate_member($E, "carol$u", roles => ["boss$u"]);
$pw{dave}  = activate_member($E, "dave$u");
$pw{erin}  = activate_member($E, "erin$u");
$pw{frank} = activate_member($E, "frank$u");
$pw{xena}  = activate_member($X, "xena$u");

my $eid = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");
sub mid {
    my ($acct, $ent) = @_;
    $ent //= $E;
    return sql("SELECT m.member_id FROM members m JOIN enterprises e"
               . " USING (enterprise_id) WHERE e.code = '$ent'"
               . " AND m.account = '$acct'");
}
sub audit_count {
    my ($where) = @_;
    return sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid"
               . " AND $where");
}
sub live_copies {
    my ($id, $acct) = @_;
    my $w = defined $acct ? " AND member_id = " . mid($acct) : '';
    return sql("SELECT count(*) FROM mailbox_copies WHERE enterprise_id ="
               . " $eid AND message_id = $id AND body_enc IS NOT NULL$w");
}

# --- sessions ------------------------------------------------------------
my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
my ($lr, $ac, $acsrf) = api_login($H, $root, $rootpw);
is $lr->code, 201, 'admin logs in';

my (%sess, %csrf);
sub member_login {
    my ($who, $handler, $ent) = @_;
    ($sess{$who}, $csrf{$who}) = mailbox_login($handler // $H, "$who$u",
                                               $pw{$who});
}
member_login($_) for qw(alice bob carol dave);

sub send_admin {
    my (%m) = @_;
    return api('POST', "$A/mailbox/messages", cookie => $ac, csrf => $acsrf,
               json => \%m);
}
sub reveal {
    my ($who, $id, %o) = @_;
    return api('POST', "$A/me/mailbox/$id/reveal", cookie => $sess{$who},
               csrf => exists $o{csrf} ? $o{csrf} : $csrf{$who});
}

# --- read once -----------------------------------------------------------
my $phrase1 = "READ-ONCE-PHRASE-$u 季度会议在三楼";
my ($r, $d) = send_admin(title => "Notice $u", body => $phrase1,
                         rule => 'read_once', open_minutes => 3,
                         to => { departments => ["hq$u"] });
is $r->code, 201, 'admin sends a read-once message to a department: 201';
my $ro = $d->{id};
is $d->{recipients}, 2, '... resolved to its members and its '
    . 'sub-department\'s (alice in eng, bob in hq)';
{
    my ($l, $ld) = api('GET', "$A/me/mailbox", cookie => $sess{alice});
    is $l->code, 200, 'alice lists her mailbox';
    my ($it) = grep { $_->{id} == $ro } @{ $ld->{items} };
    ok $it, '... the message is there';
    is $it->{title}, "Notice $u", '... by title';
    is $it->{rule}, 'read_once', '... rule';
    is $it->{open_minutes}, 3, '... open minutes';
    is $it->{state}, 'unread', '... unread';
    ok !exists $it->{body}, '... and no body';
    unlike $l->content, qr/READ-ONCE-PHRASE/, '... anywhere in the list';
    like $l->header('Cache-Control'), qr/\bno-store\b/, '... no-store';
    my ($c) = api('GET', "$A/me/mailbox", cookie => $sess{carol});
    unlike $c->content, qr/Notice \Q$u\E/, 'carol (not in hq) does not get it';
}
{
    my ($g, $gd) = api('GET', "$A/me/mailbox/$ro", cookie => $sess{alice});
    is $g->code, 200, 'GET one message (the confirmation step): 200';
    is $gd->{message}{state}, 'unread', '... still unread: a GET consumes '
        . 'nothing';
    unlike $g->content, qr/READ-ONCE-PHRASE/, '... no body';
    my ($x) = api('GET', "$A/me/mailbox/$ro/reveal", cookie => $sess{alice});
    is $x->code, 405, 'reveal by GET (a prefetch, a link preview): 405';
    ($x) = reveal('alice', $ro, csrf => undef);
    is $x->code, 403, 'reveal without the CSRF header: 403';
    ($x) = reveal('alice', $ro, csrf => $csrf{bob});
    is $x->code, 403, 'with another member\'s token: 403';
    ($x) = api('POST', "$A/me/mailbox/$ro/reveal", cookie => $sess{alice},
               csrf => $csrf{alice},
               headers => [Origin => 'http://evil.example']);
    is $x->code, 403, 'from another origin: 403';
    is live_copies($ro, "alice$u"), 1, '... the copy is untouched';
}
($r, $d) = reveal('alice', $ro);
is $r->code, 200, 'alice reveals it: 200';
is $d->{body}, $phrase1, '... the body';
is $d->{message}{state}, 'destroyed', '... destroyed by this reveal';
is $d->{message}{destroy_reason}, 'read_once', '... by its rule';
like $r->header('Cache-Control'), qr/\bno-store\b/, '... no-store';
is live_copies($ro, "alice$u"), 0, '... her ciphertext and key are gone';
is live_copies($ro, "bob$u"), 1, '... bob\'s copy is still there';
($r, $d) = reveal('alice', $ro);
is $r->code, 410, 'alice again: 410';
is $d->{error}{reason}, 'already_read', '... already_read';
unlike $r->content, qr/READ-ONCE-PHRASE/, '... no body';
($r, $d) = reveal('bob', $ro);
is $r->code, 200, 'bob reveals his own copy: 200';
is $d->{body}, $phrase1, '... the same text';
($r) = reveal('bob', $ro);
is $r->code, 410, 'bob again: 410';
($r) = reveal('carol', $ro);
is $r->code, 404, 'carol, not a recipient: 404';
{
    my ($g, $gd) = api('GET', "$A/mailbox/messages/$ro", cookie => $ac);
    is $g->code, 200, 'the sender reads the receipts';
    is scalar @{ $gd->{receipts} }, 2, '... two recipients';
    for my $x (@{ $gd->{receipts} }) {
        is $x->{state}, 'destroyed', "... $x->{account}: destroyed";
        is $x->{destroy_reason}, 'read_once', '... by the rule';
        ok $x->{read_at}, '... with the time it was read';
        like $x->{destroyed_by}, qr/^member:\d+$/, '... by the reader';
    }
    is $gd->{message}{read}, 2, '... read by 2';
    unlike $g->content, qr/READ-ONCE-PHRASE/, '... never the body';
}
is audit_count("module = 'news' AND action = 'mailbox_send'"
               . " AND object = 'mailbox:$ro'"), 1, 'the send is logged';
is audit_count("action = 'mailbox_read' AND object = 'mailbox:$ro'"
               . " AND reason = 'read_once'"), 2, 'each read is logged';
is audit_count("details::text LIKE '%READ-ONCE-PHRASE%'"), 0,
    'the log never holds the body';

# --- kept, and the recipient's own destruction ----------------------------
($r, $d) = send_admin(title => "Kept $u", body => "kept body $u",
                      rule => 'kept', to => { roles => ["boss$u"] });
is $r->code, 201, 'a kept message to a role';
my $kept = $d->{id};
is $d->{recipients}, 1, '... resolved to the role\'s holder';
($r) = reveal('carol', $kept);
is $r->code, 200, 'carol reveals it';
($r, $d) = reveal('carol', $kept);
is $r->code, 200, '... and again: kept';
is $d->{message}{state}, 'read', '... state read';
($r, $d) = api('DELETE', "$A/me/mailbox/$kept", cookie => $sess{carol});
is $r->code, 403, 'destroying without CSRF: 403';
($r, $d) = api('DELETE', "$A/me/mailbox/$kept", cookie => $sess{carol},
               csrf => $csrf{carol});
is $r->code, 200, 'carol destroys her copy: 200';
ok $d->{destroyed}, '... destroyed';
is live_copies($kept), 0, '... ciphertext and key gone';
($r, $d) = reveal('carol', $kept);
is $r->code, 410, 'then reveal: 410';
is $d->{error}{reason}, 'destroyed', '... destroyed';
($r, $d) = api('DELETE', "$A/me/mailbox/$kept", cookie => $sess{carol},
               csrf => $csrf{carol});
is $r->code, 200, 'destroying again: 200';
ok !$d->{destroyed}, '... nothing more to destroy';
($r) = api('DELETE', "$A/me/mailbox/$kept", cookie => $sess{dave},
           csrf => $csrf{dave});
is $r->code, 404, 'dave destroying a copy he does not have: 404';
is audit_count("action = 'mailbox_destroy' AND object = 'mailbox:$kept'"
               . " AND reason = 'recipient'"), 1,
    'the recipient\'s destruction is logged once';

# --- the sender destroys for everyone; a confidential title ---------------
($r, $d) = send_admin(title => "Secret title $u", body => "conf $u",
                      rule => 'kept', confidential => JSON::PP::true(),
                      to => { members => ["alice$u", "bob$u"] });
is $r->code, 201, 'a confidential message to two members';
my $conf = $d->{id};
is audit_count("details::text LIKE '%Secret title%'"), 0,
    '... its title is not in the log';
($r) = reveal('alice', $conf);
is $r->code, 200, 'alice reads it';
($r, $d) = api('DELETE', "$A/mailbox/messages/$conf", cookie => $ac);
is $r->code, 403, 'destroying for everyone without CSRF: 403';
($r, $d) = api('DELETE', "$A/mailbox/messages/$conf", cookie => $ac,
               csrf => $acsrf);
is $r->code, 200, 'the sender destroys it for everyone: 200';
is $d->{destroyed}, 2, '... both copies';
is live_copies($conf), 0, '... no ciphertext or key left';
($r, $d) = reveal('alice', $conf);
is $r->code, 410, 'alice (had read it): 410';
($r, $d) = reveal('bob', $conf);
is $r->code, 410, 'bob (had not): 410';
is $d->{error}{reason}, 'destroyed', '... destroyed';
is audit_count("action = 'mailbox_destroy' AND object = 'mailbox:$conf'"
               . " AND reason = 'sender'"), 1, '... logged';

# --- expiry: on read, and by qiweictl gc -----------------------------------
($r, $d) = send_admin(title => "Past $u", body => 'x', rule => 'expires_at',
                      expires_at => '2001-01-01 00:00+00',
                      to => { members => ["dave$u"] });
is $r->code, 400, 'an expiry time in the past: 400';
($r, $d) = send_admin(title => "Exp $u", body => "exp body $u",
                      rule => 'expires_at', to => { members => ["dave$u"] });
is $r->code, 400, 'rule expires_at without a time: 400';
($r, $d) = send_admin(title => "Exp $u", body => "exp body $u",
                      rule => 'expires_at', expires_in => 2,
                      to => { members => ["dave$u"] });
is $r->code, 201, 'a message expiring in 2 s';
my $exp1 = $d->{id};
($r, $d) = send_admin(title => "Exp2 $u", body => "exp2 body $u",
                      rule => 'expires_at', expires_in => 2,
                      to => { members => ["alice$u", "bob$u"] });
my $exp2 = $d->{id};
($r, $d) = reveal('dave', $exp1);
is $r->code, 200, 'dave reads it before its time';
# one of another enterprise, for the same gc run
my ($xexp) = qctl_ok(['--wait', '0', 'mailbox', 'send', $X, '--title',
                      "XExp $u", '--rule', 'expires_at', '--expires', '2',
                      '--to', "xena$u"], "x exp $u\n") =~ /message (\d+)/;
sleep 3;
{
    my ($l) = api('GET', "$A/me/mailbox", cookie => $sess{dave});
    unlike $l->content, qr/"Exp \Q$u\E"/, 'after its time it is not listed';
}
($r, $d) = reveal('dave', $exp1);
is $r->code, 410, 'after its time: 410 (checked on read)';
is $d->{error}{reason}, 'expired', '... expired';
is live_copies($exp1), 0, '... and destroyed by that read';
is live_copies($exp2), 2, 'the other expired message waits for gc';
my $out = qctl_ok(['--wait', '0', 'gc']);
like $out, qr/destroyed (\d+) expired mailbox messages/, 'qiweictl gc';
is live_copies($exp2), 0, '... destroyed it, nobody having read it';
is sql("SELECT count(*) FROM mailbox_copies WHERE message_id = $xexp"
       . " AND body_enc IS NOT NULL"), 0, '... and t170x\'s in the same run';
ok sql("SELECT destroyed_at IS NOT NULL FROM mailbox_messages"
       . " WHERE message_id = $exp2 AND enterprise_id = $eid") eq 't',
    '... the message is marked destroyed';
is sql("SELECT destroy_reason FROM mailbox_copies WHERE message_id = $exp2"
       . " AND enterprise_id = $eid LIMIT 1"), 'expired', '... as expired';
is audit_count("action = 'mailbox_destroy' AND object = 'mailbox:$exp2'"
               . " AND reason = 'expired'"), 1, '... logged';
($r, $d) = reveal('alice', $exp2);
is $r->code, 410, 'alice: 410';
is $d->{error}{reason}, 'expired', '... expired';

# --- wipe (the lost phone) --------------------------------------------------
($r, $d) = send_admin(title => "W1 $u", body => "wipe body $u",
                      rule => 'kept',
                      to => { members => ["bob$u", "dave$u"] });
my $w1 = $d->{id};
($r, $d) = api('POST', "$A/mailbox/wipe", cookie => $ac,
               json => { account => "bob$u" });
is $r->code, 403, 'wipe without CSRF: 403';
($r, $d) = api('POST', "$A/mailbox/wipe", cookie => $ac, csrf => $acsrf,
               json => { account => "nobody$u" });
is $r->code, 404, 'wipe of an unknown member: 404';
($r, $d) = api('POST', "$A/mailbox/wipe", cookie => $ac, csrf => $acsrf,
               json => { account => "bob$u" });
is $r->code, 200, 'the admin wipes bob\'s mailbox: 200';
ok $d->{destroyed} >= 1, "... $d->{destroyed} copies destroyed";
ok $d->{sessions_ended}, '... sessions ended';
is $r->header('Qiwei-Revocation'), 'confirmed',
    '... after the revocation barrier';
is live_copies($w1, "bob$u"), 0, '... bob\'s copy is gone';
is live_copies($w1, "dave$u"), 1, '... dave\'s is not';
is sql("SELECT count(*) FROM mailbox_copies WHERE enterprise_id = $eid"
       . " AND member_id = " . mid("bob$u") . " AND body_enc IS NOT NULL"), 0,
    '... nothing of bob\'s is left';
($r) = api('GET', "$A/me/mailbox", cookie => $sess{bob});
is $r->code, 401, 'bob\'s phone: its session has ended (401)';
is audit_count("action = 'mailbox_wipe' AND reason = 'wipe'"
               . " AND object = 'member:" . mid("bob$u") . "'"), 1,
    '... the wipe is logged';

# --- disable, depart, delete wipe the mailbox ------------------------------
($r, $d) = send_admin(title => "S1 $u", body => "status body $u",
                      rule => 'kept',
                      to => { members => ["dave$u", "erin$u", "frank$u"] });
my $s1 = $d->{id};
is live_copies($s1), 3, 'a message to dave, erin and frank';
my $frank_id = mid("frank$u");
set_status($E, "dave$u", 'disabled');
is live_copies($s1, "dave$u"), 0, 'disabling dave wiped his copy';
is sql("SELECT destroy_reason FROM mailbox_copies WHERE message_id = $s1"
       . " AND member_id = " . mid("dave$u")), 'member_status',
    '... reason member_status';
($r) = reveal('dave', $s1);
is $r->code, 401, '... and his session is gone';
set_status($E, "erin$u", 'departed');
is live_copies($s1, "erin$u"), 0, 'departing erin wiped hers';
qctl_ok(['member', 'delete', $E, "frank$u", '--yes']);
is sql("SELECT count(*) FROM mailbox_copies WHERE enterprise_id = $eid"
       . " AND member_id = $frank_id"), 0, 'deleting frank erased his copies';
is audit_count("action = 'mailbox_wipe' AND reason = 'member_status'"), 3,
    'each is logged';
set_status($E, "dave$u", 'active');
member_login('dave');
{
    my ($l) = api('GET', "$A/me/mailbox", cookie => $sess{dave});
    unlike $l->content, qr/"S1 \Q$u\E"/,
        'dave back in: the wiped message does not come back';
}

# --- cross-enterprise -------------------------------------------------------
($r, $d) = send_admin(title => "Cross $u", body => 'x', rule => 'kept',
                      to => { members => ["xena$u"] });
is $r->code, 404, 'an admin of t170 sending to a member of t170x: 404';
like $d->{error}{message}, qr/no member/, '... no such member here';
($r, $d) = send_admin(title => "Cross2 $u", body => "cross body $u",
                      rule => 'kept', to => { members => ["alice$u"] });
my $cross = $d->{id};
member_login('xena', "/$X/qiwei");
($r) = api('POST', "$AX/me/mailbox/$cross/reveal", cookie => $sess{xena},
           csrf => $csrf{xena});
is $r->code, 404, 'xena (t170x) revealing a t170 message: 404';
($r) = api('GET', "$A/me/mailbox", cookie => $sess{xena});
is $r->code, 401, 'her t170x session on t170\'s API: 401';
{
    my $xid = mid("xena$u", $X);
    my $err = eval {
        sql("INSERT INTO mailbox_copies (enterprise_id, message_id,"
            . " member_id, body_enc, dek_wrapped, dek_kid) VALUES ($eid,"
            . " $cross, $xid, '\\x00', decode(repeat('00', 65), 'hex'), 1)");
        1;
    } ? '' : $@;
    like $err, qr/foreign key/,
        'the database refuses a t170 copy for a t170x member';
}
($r) = api('POST', "$AX/me/mailbox", cookie => $sess{xena},
           csrf => $csrf{xena},
           json => { title => 'x', body => 'x', rule => 'kept',
                     to => { members => ["xena$u"] } });
is $r->code, 403, 'members may not send where QiweiMailboxMemberSend is Off';

# --- members sending (QiweiMailboxMemberSend On) ---------------------------
($r, $d) = api('POST', "$A/me/mailbox", cookie => $sess{alice},
               csrf => $csrf{alice},
               json => { title => "From alice $u", body => "hi carol $u",
                         rule => 'read_once',
                         to => { members => ["carol$u"] } });
is $r->code, 201, 'alice sends a message to carol';
my $am = $d->{id};
($r, $d) = reveal('carol', $am);
is $r->code, 200, 'carol reads it';
is $d->{message}{sender}, "Member alice$u", '... from alice (display name)';
is $d->{message}{sender_kind}, 'member', '... a member';
($r, $d) = api('GET', "$A/me/mailbox/sent/$am", cookie => $sess{alice});
is $r->code, 200, 'alice reads her receipts';
is $d->{receipts}[0]{state}, 'destroyed', '... carol read it (read once)';
($r) = api('GET', "$A/mailbox/messages/$am", cookie => $ac);
is $r->code, 404, 'admins do not see receipts of a member\'s message';
($r) = api('GET', "$A/me/mailbox/sent/$ro", cookie => $sess{alice});
is $r->code, 404, 'nor alice those of an admin\'s';
($r) = api('DELETE', "$A/me/mailbox/sent/$ro", cookie => $sess{alice},
           csrf => $csrf{alice});
is $r->code, 404, '... and she cannot destroy it for everyone';

# --- oversized and malformed -------------------------------------------------
{
    my $n = sql("SELECT count(*) FROM mailbox_messages WHERE enterprise_id"
                . " = $eid");
    ($r, $d) = send_admin(title => "Big $u", body => 'y' x 5000,
                          rule => 'kept', to => { members => ["alice$u"] });
    is $r->code, 413, 'a text above QiweiMailboxMaxBody (4096): 413';
    is $d->{error}{field}, 'body', '... names the body';
    ($r) = api('POST', "$A/mailbox/messages", cookie => $ac, csrf => $acsrf,
               body => '{"title": "x", "body": "' . ('z' x 50000) . '"}');
    is $r->code, 413, 'a request far above it: 413 (from Content-Length)';
    ($r) = send_admin(title => "Bad $u", body => "a\x01b", rule => 'kept',
                      to => { members => ["alice$u"] });
    is $r->code, 400, 'a control character in the text: 400';
    ($r) = send_admin(title => "Bad $u", body => 'x', rule => 'forever',
                      to => { members => ["alice$u"] });
    is $r->code, 400, 'an unknown rule: 400';
    ($r, $d) = send_admin(title => "Bad $u", body => 'x', rule => 'kept',
                          to => { members => ["alice$u"], nobody => 1 });
    is $r->code, 400, 'an unknown key in to: 400';
    is $d->{error}{field}, 'to.nobody', '... named';
    ($r) = send_admin(title => "Bad $u", body => 'x', rule => 'kept',
                      to => {});
    is $r->code, 400, 'no recipient: 400';
    is sql("SELECT count(*) FROM mailbox_messages WHERE enterprise_id"
           . " = $eid"), $n, '... none of them stored anything';
}

# --- the module right ---------------------------------------------------------
{
    admin_role($E, "wikirole$u", 'wiki');
    my $wpw = admin_add($E, "wadmin$u");
    admin_grant($E, "wadmin$u", "wikirole$u");
    my (undef, $wc, $wcsrf) = api_login($H, "wadmin$u", $wpw);
    ($r) = api('POST', "$A/mailbox/messages", cookie => $wc, csrf => $wcsrf,
               json => { title => 'x', body => 'x', rule => 'kept',
                         to => { members => ["alice$u"] } });
    is $r->code, 403, 'an admin without the news module may not send: 403';
    ($r) = api('GET', "$A/mailbox/messages", cookie => $wc);
    is $r->code, 403, '... nor list';
}

# --- qiweictl ---------------------------------------------------------------
{
    my $o = qctl_ok(['--wait', '0', 'mailbox', 'send', $E, '--title',
                     "CLI $u", '--rule', 'read_once:2', '--to', "alice$u"],
                    "cli body $u\n");
    my ($cid) = $o =~ /message (\d+) sent to 1 member/;
    ok $cid, 'qiweictl mailbox send';
    like qctl_ok(['mailbox', 'list', $E, "alice$u"]), qr/^$cid\t.*CLI \Q$u\E/m,
        'qiweictl mailbox list shows it';
    ($r, $d) = reveal('alice', $cid);
    is $d->{body}, "cli body $u\n", 'alice reveals the operator\'s message';
    is $d->{message}{sender_kind}, 'operator', '... from the operator';
    like qctl_ok(['mailbox', 'receipts', $E, $cid]),
        qr/^alice\Q$u\E\tdestroyed\t.*\(read_once by member:\d+\)/m,
        'qiweictl mailbox receipts';
    my ($rc) = qctl(['mailbox', 'wipe', $E, "alice$u"]);
    is $rc, 2, 'qiweictl mailbox wipe without --yes: exit 2';
    ($rc) = qctl(['mailbox', 'send', $E, '--title', 'x', '--rule', 'kept',
                  '--to', "xena$u"], "x\n");
    is $rc, 3, 'qiweictl to another enterprise\'s member: exit 3';
}

# --- pg_dump after destruction ------------------------------------------------
{
    my $phrase = "DUMP-PHRASE-$u";
    ($r, $d) = send_admin(title => "Dump $u", body => $phrase, rule => 'kept',
                          to => { members => ["alice$u"] });
    my $id = $d->{id};
    my $row = sql("SELECT encode(body_enc, 'hex') || ' ' ||"
                  . " encode(dek_wrapped, 'hex') FROM mailbox_copies"
                  . " WHERE enterprise_id = $eid AND message_id = $id");
    my ($ct, $key) = split / /, $row;
    ok length($key) == 130, 'the wrapped data key of the copy (65 bytes)';
    my $dump = pg_dump();
    ok index($dump, $key) >= 0 && index($dump, $ct) >= 0,
        'before: pg_dump holds its ciphertext and wrapped key';
    ok index($dump, $phrase) < 0, '... but never the text';
    ($r) = api('DELETE', "$A/me/mailbox/$id", cookie => $sess{alice},
               csrf => $csrf{alice});
    is $r->code, 200, 'alice destroys it';
    ($r) = reveal('alice', $id);
    is $r->code, 410, '... reveal: 410';
    $dump = pg_dump();
    ok length($dump) > 1000, 'pg_dump ran';
    ok index($dump, $key) < 0, 'after: the wrapped data key is nowhere';
    ok index($dump, $ct) < 0, '... nor the ciphertext';
    ok index($dump, $phrase) < 0, '... nor the text';
    ok index($dump, encode_utf8($phrase1)) < 0,
        '... nor the read-once text of the first message';
}

done_testing;
