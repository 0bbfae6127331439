# Admin locks per source network and bounded scan challenges (schema 12).
#
# 1. Ten wrong passwords from one network lock the admin account for that
#    network only: the right password from another network still logs in.
#    The account as a whole is locked only at 100 failures.  Every lock
#    reminds the bound member; `qiweictl admin unlock` lifts them all.
# 2. GET <handler>/scan stores a challenge per view: open challenges are
#    bounded per address, per network and per enterprise (429 / 503 with
#    Retry-After), and the table never holds more than the bound.
#
# A second client address is a loopback address in another /24 (Linux
# routes all of 127/8 to lo): the user agent's socket is bound to it.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use Apache::TestRequest ();
use QiweiTest;

my $u = uniq();
ua_reset();

# Run $code with the client socket bound to $addr (undef: the default).
sub from {
    my ($addr, $code) = @_;
    my $ua = Apache::TestRequest::user_agent();
    my $old = $ua->local_address;
    $ua->local_address($addr);
    my @r = eval { $code->() };
    my $err = $@;
    $ua->local_address($old);
    die $err if $err;
    return wantarray ? @r : $r[0];
}

# --- 1. admin locks ------------------------------------------------------------
{
    my $E = 't116l';
    my $H = "/$E/qiwei";
    seed_enterprise($E, 'Admin lock per source');
    my $bm = "lb$u";
    activate_member($E, $bm);
    my $acct = "root$u";
    my $pw = admin_add($E, $acct, super => 1, bind => $bm);
    my $reminders = sub {
        sql("SELECT count(*) FROM login_reminders r JOIN members m USING "
            . "(enterprise_id, member_id) WHERE m.account = '$bm' AND "
            . "r.kind = 'failed'");
    };
    # stand in for the waits (not the count) of a network below its lock
    my $skip_wait = sub {
        sql("UPDATE login_throttle SET next_at = now() WHERE account = "
            . "'$acct' AND kind = 'admin_password' AND failures < 10");
    };
    my $login = sub {
        my ($addr, $password) = @_;
        return from($addr, sub {
            (api('POST', "$H/api/v1/session",
                 json => { account => $acct, password => $password }))[0];
        });
    };
    my $ten_wrong = sub {
        my ($addr, $tag) = @_;
        my @codes;
        for my $i (1 .. 10) {
            $skip_wait->();
            push @codes, $login->($addr, "Wrong-$tag-$i-pw!x")->code;
        }
        return join ',', @codes;
    };

    # address A: the default client address (127.0.0.1)
    is $ten_wrong->(undef, 'a'), join(',', (401) x 10),
        'ten wrong passwords from address A: 401 each';
    my $r = $login->(undef, $pw);
    is $r->code, 429, 'A is locked: the right password from A gets 429';
    ok(($r->header('Retry-After') // 0) > 1500, '... for about 30 min');
    is $reminders->(), 1, 'the bound member got a reminder of the lock';

    # address B, another /24
    $r = $login->('127.0.1.7', $pw);
    is $r->code, 201, 'the right password from address B (another network) '
        . 'still logs in';
    ok session_of($r, 'qiwei_admin'), '... with a session';
    $r = $login->(undef, $pw);
    is $r->code, 429, '... and A stays locked';

    # a second lock from a third network: a second reminder
    is $ten_wrong->('127.0.2.9', 'c'), join(',', (401) x 10),
        'ten wrong passwords from address C: 401 each';
    is $reminders->(), 2, 'a reminder per lock: two locks, two reminders';
    is sql("SELECT count(*) FROM audit_log WHERE action = 'admin-locked' "
           . "AND object LIKE 'admin:% $acct'"), 2, 'each lock is audited';

    # the account as a whole: locked at 100 failures from anywhere
    is sql("SELECT failures FROM login_throttle WHERE account = '$acct' AND "
           . "kind = 'admin_password' AND source = ''"), 20,
        'the account-wide counter holds every network\'s failures';
    sql("UPDATE login_throttle SET failures = 99 WHERE account = '$acct' AND"
        . " kind = 'admin_password' AND source = ''");
    $r = $login->('127.0.3.3', 'Wrong-d-pw!x1');
    is $r->code, 401, 'the 100th failure (from D, a fourth network): 401';
    is $reminders->(), 3, '... the account-wide lock reminds the member too';
    $r = $login->('127.0.4.4', $pw);
    is $r->code, 429, 'account locked: the right password from E gets 429';
    ok(($r->header('Retry-After') // 0) > 1500, '... for about 30 min');
    is sql("SELECT details::json->>'scope' FROM audit_log WHERE action = "
           . "'admin-locked' AND object LIKE 'admin:% $acct' ORDER BY seq DESC "
           . "LIMIT 1"), 'account', '... audited as an account-wide lock';

    # the operator lifts every lock
    my ($rc, $o, $e) = qctl(['admin', 'unlock', $E, $acct]);
    is $rc, 0, 'qiweictl admin unlock: exit 0' or diag "$e$o";
    like $o, qr/admin \Q$acct\E unlocked/, '... says so';
    is sql("SELECT count(*) FROM login_throttle WHERE account = '$acct'"), 0,
        '... every counter of the account is gone';
    is sql("SELECT count(*) FROM audit_log WHERE action = 'admin-unlock'"
           . " AND object LIKE 'admin:%$acct'"), 1, '... audited';
    $r = $login->('127.0.4.4', $pw);
    is $r->code, 201, 'after unlock the right password from E logs in';
    $r = $login->(undef, $pw);
    is $r->code, 201, '... and from A';
    ($rc, $o, $e) = qctl(['admin', 'unlock', $E, "nobody$u"]);
    isnt $rc, 0, 'unlock of an unknown admin account fails';
}

# --- 2. scan challenges ---------------------------------------------------------
{
    my $E = 't116s';
    my $H = "/$E/qiwei";
    seed_enterprise($E, 'Scan bounds');
    my $rows = sub {
        sql("SELECT count(*) FROM scan_challenges s JOIN enterprises e USING"
            . " (enterprise_id) WHERE e.code = '$E'");
    };
    my @codes = map { http_get("$H/scan")->code } 1 .. 20;
    is join(',', @codes), join(',', (200) x 20),
        '20 scan pages from one address: 200 each';
    my $r = http_get("$H/scan");
    is $r->code, 429, 'the 21st from that address: 429';
    like $r->header('Retry-After') // '', qr/^\d+$/, '... with Retry-After';
    ok(($r->header('Retry-After') // 999) <= 121, '... at most the lifetime');
    unlike $r->content, qr/scan-approve|<svg/, '... and no challenge';
    $r = http_get("$H/scan") for 1 .. 30;
    is $r->code, 429, 'a flood from that address stays refused';
    is $rows->(), 20, 'the table holds 20 challenges, not 51';
    $r = from('127.0.1.8', sub { http_get("$H/scan") });
    is $r->code, 200, 'another network still gets a code';

    # a network's bound (100 per /24): other addresses of a full network
    sql("INSERT INTO scan_challenges (enterprise_id, challenge_hash, "
        . "browser_hash, requester_ip, expires_at) SELECT e.enterprise_id, "
        . "sha256(('n$u' || g)::bytea), sha256(('b$u' || g)::bytea), "
        . "'127.0.9.' || g, now() + interval '2 minutes' FROM enterprises e,"
        . " generate_series(1, 100) g WHERE e.code = '$E'");
    $r = from('127.0.9.200', sub { http_get("$H/scan") });
    is $r->code, 429, 'a new address in a network holding 100: 429';

    # the enterprise's bound (1000 open challenges)
    my $have = $rows->();
    sql("INSERT INTO scan_challenges (enterprise_id, challenge_hash, "
        . "browser_hash, requester_ip, expires_at) SELECT e.enterprise_id, "
        . "sha256(('t$u' || g)::bytea), sha256(('c$u' || g)::bytea), "
        . "'10.' || (g / 65536) || '.' || (g / 256 % 256) || '.' || "
        . "(g % 256), now() + interval '2 minutes' FROM enterprises e, "
        . "generate_series(1, " . (1000 - $have) . ") g WHERE e.code = '$E'");
    is $rows->(), 1000, '1000 open challenges';
    $r = from('127.0.5.5', sub { http_get("$H/scan") });
    is $r->code, 503, 'one more from a fresh address: 503';
    like $r->header('Retry-After') // '', qr/^\d+$/, '... with Retry-After';
    is $rows->(), 1000, '... and nothing stored';
    # an expired challenge makes room (and is deleted)
    sql("UPDATE scan_challenges SET expires_at = now() - interval '1 second'"
        . " WHERE requester_ip = '10.0.0.1'");
    $r = from('127.0.5.5', sub { http_get("$H/scan") });
    is $r->code, 200, 'once one expired, a new code is made';
    is $rows->(), 1000, '... in its place: still 1000 rows';
}

# --- the log lines --------------------------------------------------------------
{
    my $log = Apache::Test::vars('t_logs') . '/error_log';
    open my $fh, '<', $log or die "$log: $!";
    my $text = do { local $/; <$fh> };
    like $text, qr/QW1213: account "root\Q$u\E" of t116l locked for 127\.0\.0\.0\/24/,
        'QW1213 names the locked network';
    like $text, qr/QW1214: account "root\Q$u\E" of t116l locked for every address/,
        'QW1214 for the account-wide lock';
    like $text, qr/QW1002: admin login failed for account "root\Q$u\E" of enterprise t116l from 127\.0\.2\.9/,
        'QW1002 (fail2ban) unchanged, with the client address';
    like $text, qr/QW1253: scan login refused for 127\.0\.0\.1/,
        'QW1253 for the address bound';
    like $text, qr/QW1254: scan login refused for 127\.0\.5\.5/,
        'QW1254 for the enterprise bound';
}

done_testing();
